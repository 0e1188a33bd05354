// Timers behind an interface, so the tests drive time by hand instead of waiting for it.

export interface Clock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const realClock: Clock = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/** Runs `callback` once, `ms` after the last of a run of calls. */
export class Debouncer {
  private handle: unknown;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
    private readonly callback: () => void,
  ) {}

  schedule(): void {
    this.cancel();
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      this.callback();
    }, this.ms);
  }

  cancel(): void {
    if (this.handle !== undefined) {
      this.clock.clearTimeout(this.handle);
      this.handle = undefined;
    }
  }
}
