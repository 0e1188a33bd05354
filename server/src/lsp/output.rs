//! The one path from the server to the editor. Everything the loop says to the client —
//! diagnostics, messages, log lines, notifications, requests — is queued here in the order it was
//! made and handed to the client by one task, in that order: a diagnostic for an older state can
//! never overtake the newer one (a task spawned per message on a multi-thread runtime does not
//! keep order).
//!
//! Notifications are awaited one after the other. A request is sent in its turn too, but its
//! answer is waited for off the queue, so that an editor slow to answer a request never holds up
//! the diagnostics behind it.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use tokio::sync::mpsc;
use tower_lsp_server::Client;

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

enum Outgoing {
    /// Completes once the message is handed to the client's connection.
    Notification(Job),
    /// Sent when its turn comes; its answer is awaited elsewhere.
    Request(Job),
}

/// The loop's handle on the output path. Cloning it shares the one queue.
#[derive(Clone)]
pub struct Output {
    client: Client,
    queue: mpsc::UnboundedSender<Outgoing>,
}

impl Output {
    /// Starts the task that sends, in order, what is queued.
    pub fn start(client: Client) -> Output {
        let (queue, mut receiver) = mpsc::unbounded_channel::<Outgoing>();
        tokio::spawn(async move {
            while let Some(outgoing) = receiver.recv().await {
                match outgoing {
                    Outgoing::Notification(job) => job.await,
                    Outgoing::Request(mut job) => {
                        // The first poll puts the request on the connection, in its turn; the
                        // rest (its answer) goes on without holding up the queue.
                        let first =
                            std::future::poll_fn(|context| Poll::Ready(job.as_mut().poll(context)))
                                .await;
                        if first.is_pending() {
                            tokio::spawn(job);
                        }
                    }
                }
            }
        });
        Output { client, queue }
    }

    /// Queues a notification: `send` gets the client and says something to it.
    pub fn notify<F, Fut>(&self, send: F)
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let _ = self
            .queue
            .send(Outgoing::Notification(Box::pin(send(self.client.clone()))));
    }

    /// Queues a request: `ask` gets the client, asks, and deals with the answer itself.
    pub fn request<F, Fut>(&self, ask: F)
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let _ = self
            .queue
            .send(Outgoing::Request(Box::pin(ask(self.client.clone()))));
    }
}
