// One command to a node's client port on a fresh connection, for the few places a node or the launcher
// asks another node something over RESP (a joiner asking its seed, the launcher waiting for
// cluster_state:ok). Resolves with the text of a bulk (or verbatim) string reply; rejects on an error
// reply, a refused connection or silence.

import { connect } from 'node:net';

export function respCommand(host: string, port: number, argv: readonly string[], timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let data = Buffer.alloc(0);
    const done = (err: Error | null, text = '') => {
      socket.destroy();
      if (err) reject(err);
      else resolve(text);
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no answer from ${host}:${port}`)));
    socket.on('error', (err) => done(err));
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data[0] === 0x2d) return done(new Error(data.toString('latin1').trim()));
      const m = /^[$=](\d+)\r\n/.exec(data.toString('latin1', 0, 32));
      if (m !== null && data.length >= m[0].length + Number(m[1]) + 2) done(null, data.toString('latin1', m[0].length, m[0].length + Number(m[1])));
    });
    const parts = [`*${argv.length}\r\n`];
    for (const a of argv) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
    socket.write(parts.join(''));
  });
}
