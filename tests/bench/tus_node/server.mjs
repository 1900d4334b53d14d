// @tus/server 2 with its file store on a free port; prints the port on stdout.
// Usage: node server.mjs DIRECTORY
import http from "node:http";
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const tus = new Server({ path: "/files", datastore: new FileStore({ directory: process.argv[2] }) });
const server = http.createServer((req, res) => tus.handle(req, res));
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
