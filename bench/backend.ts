import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The benchmark backend: answers every request with a small JSON body after draining the request. */
const body = Buffer.from(JSON.stringify({ id: 7, item: 'coffee beans', quantity: 2, status: 'shipped' }));
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'backend', port: (server.address() as AddressInfo).port })));
