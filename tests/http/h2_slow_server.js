// An HTTP/2-over-TLS upstream for http_engine_test: every request is answered
// after DELAY_MS, each connection takes 100 streams at once, and GET
// /connections answers how many connections it has accepted.
//   node h2_slow_server.js PORT KEY_PEM CERT_PEM DELAY_MS
'use strict';
const fs = require('fs');
const http2 = require('http2');

const [port, keyPath, certPath, delayMs] = process.argv.slice(2);
let connections = 0;
const server = http2.createSecureServer({
  key: fs.readFileSync(keyPath),
  cert: fs.readFileSync(certPath),
  settings: {maxConcurrentStreams: 100},
});
server.on('session', (session) => {
  connections += 1;
  session.on('error', () => {});  // a client that resets or hangs up is no crash
});
server.on('sessionError', () => {});
server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  if (headers[':path'] === '/connections') {
    stream.respond({':status': 200, 'content-type': 'text/plain'});
    stream.end(String(connections));
    return;
  }
  stream.resume();  // the request body is not needed
  setTimeout(() => {
    if (stream.destroyed || stream.closed) return;
    stream.respond({':status': 200, 'content-type': 'text/plain'});
    stream.end('ok');
  }, Number(delayMs));
});
server.listen(Number(port), '127.0.0.1');
