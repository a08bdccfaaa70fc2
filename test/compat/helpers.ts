/** A raw HTTP/1.1 client for the compatibility tests (the SSE reader is in test/helpers/sse.ts). */

/**
 * Sends a request written out as raw HTTP/1.1 text (as the products' documentation shows them) over a socket and reads
 * one response (Content-Length framed). Lines may end in \n; they are sent as \r\n.
 */
export async function rawHttp(base: string, text: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { connect } = await import('node:net');
  const url = new URL(base);
  const wire = text.replace(/\r?\n/g, '\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(wire));
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(head[0].split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (buf.length - end - 4 < length) return;
      socket.destroy();
      resolve({ status, headers, body: buf.subarray(end + 4, end + 4 + length).toString('utf8') });
    });
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      reject(new Error('no complete response in 5 s'));
    }, 5000).unref();
  });
}
