// Test helper: reads captured real Redis 7.0.15 replies (copied from the shared reference captures).
// Capture files hold `>>> COMMAND` lines, each followed by the reply with every CRLF written as a
// literal `\r\n` at the end of a line (bare `\n` inside bulk strings stay real newlines).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Copies of the captures used by tests, found from this file's compiled location (dist/test/cluster). */
export const CAPTURES_DIR = join(fileURLToPath(import.meta.url), '../../../../test/cluster/captures');

/** Reply bytes (latin1) per command, in file order; a command captured twice keeps its last reply. */
export function loadCapture(file: string): Map<string, string> {
  const text = readFileSync(join(CAPTURES_DIR, file), 'latin1');
  const replies = new Map<string, string>();
  for (const section of text.split(/^>>> /m).slice(1)) {
    const newline = section.indexOf('\n');
    const command = section.slice(0, newline);
    let reply = section.slice(newline + 1).replaceAll('\\r\\n\n', '\r\n');
    while (reply.endsWith('\n') && !reply.endsWith('\r\n')) reply = reply.slice(0, -1);
    replies.set(command, reply);
  }
  return replies;
}
