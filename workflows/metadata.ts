// Temporal's user metadata for every workflow this project starts: a one-line static summary
// (Temporal UI's list of runs) and static details in Markdown (the run's page): who started it
// and which files or contexts it is about. Plain code without imports, so the web, the worker,
// ops commands, schedule actions and workflow code (child workflows) can all use it.

export interface RunDescription {
  /** What the run does, e.g. `submission 3f2a… of 2 files for acs`. */
  what: string;
  /** Who started it: a user name, `schedule <id>`, `ops/backup`, … */
  who: string;
  files?: readonly string[];
  contexts?: readonly string[];
  /** More labelled lines of details; undefined or empty values are left out. */
  more?: Readonly<Record<string, string | number | undefined>>;
}

export interface UserMetadata {
  staticSummary: string;
  staticDetails: string;
}

/** Temporal UI shows the summary on one line; longer ones are cut. */
const SUMMARY_CHARS = 200;
/** Names listed before "and N more": details stay readable for a submission of thousands of files. */
const LISTED_NAMES = 25;

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Markdown special characters escaped, so a description cannot restyle the page. */
const plain = (text: string): string => oneLine(text).replace(/([\\`*_{}[\]<>()#+!|~])/g, '\\$1');

function names(list: readonly string[]): string {
  const shown = list.slice(0, LISTED_NAMES).map(plain).join(', ');
  return list.length > LISTED_NAMES ? `${shown} and ${list.length - LISTED_NAMES} more` : shown;
}

/**
 * The staticSummary and staticDetails of a workflow start (client.workflow.start, a schedule's
 * startWorkflow action, or startChild): spread the result into the start options.
 */
export function userMetadata(run: RunDescription): UserMetadata {
  let summary = `${oneLine(run.what)} (${oneLine(run.who)})`;
  if (summary.length > SUMMARY_CHARS) summary = `${summary.slice(0, SUMMARY_CHARS - 1)}…`;
  const lines = [`**Started by:** ${plain(run.who)}`];
  if (run.files?.length) lines.push(`**Files (${run.files.length}):** ${names(run.files)}`);
  if (run.contexts?.length) lines.push(`**Contexts:** ${names(run.contexts)}`);
  for (const [label, value] of Object.entries(run.more ?? {})) {
    if (value !== undefined && value !== '') lines.push(`**${plain(label)}:** ${plain(String(value))}`);
  }
  return { staticSummary: summary, staticDetails: lines.join('\n\n') };
}
