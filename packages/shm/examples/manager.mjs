// SharedMemoryManager from ES modules, with a second process.
//
//   node packages/shm/examples/manager.mjs
//
// The owner starts a manager and creates a segment through it. A client
// process connects by the manager's address, attaches to that segment by
// name, answers in it, and creates a segment of its own through the same
// manager; the client's segment outlives the client. The owner lists both,
// then shutdown() unlinks every managed segment.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SharedMemory, SharedMemoryManager } from '@shmkit/shm';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const readText = (shm) => decoder.decode(shm.buf.subarray(0, shm.buf.indexOf(0)));

async function client(address, name) {
  const tag = `[client ${process.pid}]`;
  const manager = await SharedMemoryManager.connect(address);
  const shared = SharedMemory.attach(name);
  console.log(`${tag} connected to ${address}; ${name} says "${readText(shared)}"`);
  shared.buf.fill(0).set(encoder.encode(`hello back from ${process.pid}`));
  shared.close();
  const mine = manager.SharedMemory(256); // managed: outlives this process
  mine.buf.set(encoder.encode('made by the client'));
  mine.close();
  await manager.list(); // a request answered after the registration: the owner sees it now
  process.send(mine.name);
  await manager.shutdown(); // a client's shutdown only disconnects
}

async function owner() {
  const tag = `[owner  ${process.pid}]`;
  const manager = new SharedMemoryManager();
  await manager.start();
  try {
    const shm = manager.SharedMemory(256);
    shm.buf.set(encoder.encode(`hello from ${process.pid}`));
    console.log(`${tag} manager at ${manager.address}; created ${shm}`);

    const child = fork(fileURLToPath(import.meta.url), ['--client', manager.address, shm.name], { stdio: 'inherit' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const clientsName = await Promise.race([
      new Promise((resolve) => child.once('message', resolve)),
      exited.then((code) => Promise.reject(new Error(`the client exited with code ${code} before answering`))),
    ]);
    const code = await exited;
    if (code !== 0) throw new Error(`the client exited with code ${code}`);

    console.log(`${tag} ${shm.name} now says "${readText(shm)}"`);
    const theirs = SharedMemory.attach(clientsName);
    console.log(`${tag} the client's ${clientsName} says "${readText(theirs)}"`);
    theirs.close();
    shm.close();
    console.log(`${tag} the manager manages: ${(await manager.list()).sort().join(', ')}`);
  } finally {
    await manager.shutdown(); // unlinks every managed segment, the client's included
  }
  console.log(`${tag} shut down: every managed segment is unlinked`);
}

if (process.argv[2] === '--client') await client(process.argv[3], process.argv[4]);
else await owner();
