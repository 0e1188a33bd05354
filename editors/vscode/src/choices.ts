// The fixed choices the palette commands offer: classes (the Ownership Rule), how a calibration
// session felt, how long it runs, and the report's format.

import type { ChunkClass, ReportFormat } from './protocol';

export interface Choice<T> {
  label: string;
  description?: string;
  detail?: string;
  value: T;
}

/** The Ownership Rule, one line each. */
export const CLASS_CHOICES: readonly Choice<ChunkClass>[] = [
  { label: 'Transient', description: 'a one-off: use AI freely', value: 'transient' },
  {
    label: 'Repeatable',
    description: 'a pattern you will meet again: reproduce it from memory later',
    value: 'repeatable',
  },
  {
    label: 'Core',
    description: 'a skill that defines your value: you must be able to explain it',
    value: 'core',
  },
];

/** The server's words for 1..5 (`feel_word`), so both ends of the question read the same. */
export const FEEL_WORDS: readonly string[] = ['struggled', 'hard going', 'workable', 'good', 'smooth'];

/** `undefined` stands for "skip": stop without saying how it felt. */
export const FEEL_CHOICES: readonly Choice<number | undefined>[] = [
  ...FEEL_WORDS.map((word, index) => ({ label: `${index + 1} ${word}`, value: index + 1 })),
  { label: 'Skip', description: 'stop without rating the session', value: undefined },
];

/** `undefined` stands for "no limit": the session runs until stopped. */
export const MINUTES_CHOICES: readonly Choice<number | undefined>[] = [
  { label: '30 minutes', value: 30 },
  { label: '60 minutes', description: 'a calibration block: 60–90 minutes once a week', value: 60 },
  { label: '90 minutes', value: 90 },
  { label: 'No limit', description: 'until you stop it', value: undefined },
];

export const REPORT_CHOICES: readonly Choice<ReportFormat>[] = [
  { label: 'HTML', description: 'one page with charts, in your browser or an editor tab', value: 'html' },
  { label: 'Markdown', description: 'the same as text, in an editor tab', value: 'markdown' },
  { label: 'JSON', description: 'for programs, in an editor tab', value: 'json' },
];
