// Leader completeness (Raft §5.4): an entry committed in term T is in the log of every leader of any
// term after T. We know an entry is committed once some node applied it; the term it was committed in
// is at most the highest term any node had at that moment, so every leader elected in a term above
// that must hold the entry (or a snapshot covering it).

import type { StateMachineSafety } from './state-machine.js';
import type { LogView } from './log-matching.js';

export function checkLeaderCompleteness(
  oracle: StateMachineSafety,
  leader: number,
  term: number,
  log: LogView,
): string | null {
  for (const [index, entry] of oracle.entries) {
    if (entry.maxTermWhenObserved >= term) continue;
    if (index <= log.snapshotIndex) continue; // covered by the leader's snapshot (checked as state)
    const held = log.term(index);
    if (held !== entry.term || log.payload(index) !== entry.payload) {
      return `leader ${leader} of term ${term} lacks committed entry ${index} (term ${entry.term}, committed by term <= ${entry.maxTermWhenObserved}); its log has ${held === undefined ? 'nothing' : `term ${held}`} there`;
    }
  }
  return null;
}

/**
 * No committed entry lost: at the end of a run, the final leader's log holds every entry any node ever
 * applied, and has committed past all of them.
 */
export function checkNothingLost(
  oracle: StateMachineSafety,
  leader: number,
  commit: number,
  log: LogView,
): string | null {
  if (commit < oracle.highestApplied) {
    return `final leader ${leader} committed only up to ${commit}, but index ${oracle.highestApplied} was applied`;
  }
  for (const [index, entry] of oracle.entries) {
    if (index <= log.snapshotIndex) continue;
    if (log.term(index) !== entry.term || log.payload(index) !== entry.payload) {
      return `final leader ${leader} lost applied entry ${index} (term ${entry.term})`;
    }
  }
  return null;
}
