// Who may confirm, force or cancel a READY submission (crds-protocol.md §5.5), as a pure
// function: the workflow's decision activity applies it to the deciding user's lock as the
// catalog holds it at that moment, never to a lock the request claims.

export interface HeldLock {
  instrument: string;
  /** db/locks.ts lockId(). */
  lockId: string;
  expiresAt: string;
}

/** The refusal of `action` by `username`, or undefined when they may. */
export function decisionRefusal(
  submission: { username: string; instrument: string; lockId: string },
  action: string,
  username: string,
  lock: HeldLock | undefined,
  now: number,
): string | undefined {
  if (!['confirm', 'cancel', 'force'].includes(action)) return `Unknown action '${action}': confirm, cancel or force.`;
  const held = lock && lock.instrument.toLowerCase() === submission.instrument.toLowerCase() && Date.parse(lock.expiresAt) > now ? lock : undefined;
  if (action === 'confirm') {
    if (username !== submission.username) {
      return `Only '${submission.username}', who submitted it, may confirm this submission; a user holding the ${submission.instrument} lock may force or cancel it.`;
    }
    if (!held || held.lockId !== submission.lockId) {
      return `BROKEN LOCK: the ${submission.instrument} lock this submission was made under is no longer held. Use 'force' to confirm anyway.`;
    }
  } else if (!held) {
    return `You must hold the lock on instrument '${submission.instrument}' to ${action} this submission.`;
  }
  return undefined;
}
