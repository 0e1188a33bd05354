// Sentences the extension says after a command, built from the server's answers.

export interface ExplainReply {
  chunk: number;
  score: number;
  shallow: boolean;
  words: number;
  identifiers_named: number;
  identifiers_total: number;
  says_why: boolean;
}

/** "Explanation recorded: 45/100, shallow — …" with what would make it deeper. */
export function explanationVerdict(reply: ExplainReply): string {
  const head = `Explanation recorded: ${reply.score}/100`;
  if (!reply.shallow) {
    return `${head}, thorough.`;
  }
  const missing: string[] = [];
  if (reply.words < 20) {
    missing.push(`write more than ${reply.words} ${reply.words === 1 ? 'word' : 'words'}`);
  }
  if (reply.identifiers_total > 0 && reply.identifiers_named < Math.min(3, reply.identifiers_total)) {
    missing.push("name the chunk's own functions and types");
  }
  if (!reply.says_why) {
    missing.push('say why this approach, or what it trades off');
  }
  return missing.length === 0 ? `${head}, shallow.` : `${head}, shallow: ${missing.join('; ')}.`;
}

export const EXPLAIN_PROMPT =
  'What it does, why this approach, and the trade-offs: in your own words, without AI. Leave it empty to write in a document instead.';
