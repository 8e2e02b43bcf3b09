#!/usr/bin/env node
// The webhook receiver of bench/delivery --webhooks: an HTTP server on a free loopback port
// that answers 204 to every request (it checks nothing: the API tests verify signatures),
// counting connections, requests and distinct webhook-ids. Prints "listening PORT", then
// "stats connections=C messages=M unique=U" whenever the counts changed (every 50 ms).

import http from 'node:http';

let connections = 0;
let messages = 0;
const ids = new Set();
const server = http.createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
        messages++;
        const id = req.headers['webhook-id'];
        if (id) ids.add(id);
        res.writeHead(204);
        res.end();
    });
});
server.keepAliveTimeout = 120000;
server.on('connection', () => { connections++; });
server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
});
let last = '';
setInterval(() => {
    const s = `stats connections=${connections} messages=${messages} unique=${ids.size}`;
    if (s !== last) {
        process.stdout.write(`${s}\n`);
        last = s;
    }
}, 50);
process.on('SIGTERM', () => process.exit(0));
