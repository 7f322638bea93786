'use strict';
// The MessagePort handoff in real Chromium: offer* runs in a CDP isolated world (like Electron's
// preload world), receive* in the page's world.

const assert = require('node:assert/strict');
const { startServer, launch, openPage, value, browserTestApi } = require('./browser/harness.js');
// Chromium missing: every test below is reported skipped, with the reason
const { describe, it, before, after, beforeEach, afterEach } = browserTestApi();

const PROTOCOL = 'shmkit-handoff/1';

// Preload world: a shared memory of 2 pages with bytes 4096..8191 = i & 255, offered as that range.
const OFFER_SHARED = `async (asBuffer) => {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
  const u8 = new Uint8Array(memory.buffer);
  for (let i = 0; i < 4096; i++) u8[4096 + i] = i & 255;
  globalThis.mem = memory;
  return dom.offerShared(window, asBuffer ? memory.buffer : memory, { byteOffset: 4096, byteLength: 4096 }, { name: 'seg', size: 4096 });
}`;

// Page world: receives, checks it is the same memory both ways (plain writes and Atomics, including a
// wake-up of a waitAsync in the page by a notify from the preload).
const RECEIVE_SHARED = `async (offer) => {
  const r = await dom.receiveShared(window, offer, { timeoutMs: 5000 });
  globalThis.got = r;
  let sum = 0;
  for (let i = 0; i < r.bytes.length; i++) sum += r.bytes[i] === (i & 255) ? 0 : 1;
  r.bytes[0] = 0xab;
  const i32 = new Int32Array(r.buffer, r.bytes.byteOffset, 16);
  globalThis.counterBefore = Atomics.add(i32, 1, 5);
  globalThis.waiting = Atomics.waitAsync(i32, 2, Atomics.load(i32, 2), 5000).value;
  return {
    length: r.bytes.length, byteOffset: r.bytes.byteOffset, mismatches: sum, meta: r.meta,
    buffer: Object.prototype.toString.call(r.buffer),
    memory: r.memory === null ? null : Object.prototype.toString.call(r.memory),
    crossOriginIsolated,
  };
}`;

const PRELOAD_SIDE = `() => {
  const u8 = new Uint8Array(mem.buffer);
  const i32 = new Int32Array(mem.buffer, 4096, 16);
  const seen = { byte0: u8[4096], added: Atomics.add(i32, 1, 7) + 7 - 0x07060504 };
  u8[4096 + 64] = 0xcd;
  Atomics.store(i32, 2, 99);
  seen.woken = Atomics.notify(i32, 2);
  return seen;
}`;

const PAGE_SIDE = `async () => ({ waited: await waiting, byte64: got.bytes[64], added: Atomics.load(new Int32Array(got.buffer, got.bytes.byteOffset, 16), 1) - counterBefore - 5 })`;

async function assertSameMemory(p, { asBuffer = false } = {}) {
  const offer = value(await p.preload(OFFER_SHARED, asBuffer));
  assert.deepEqual(Object.keys(offer), ['token']);
  const got = value(await p.main(RECEIVE_SHARED, offer));
  assert.equal(got.length, 4096);
  assert.equal(got.byteOffset, 4096);
  assert.equal(got.mismatches, 0, 'the page sees the bytes the preload wrote');
  assert.deepEqual(got.meta, { name: 'seg', size: 4096 });
  assert.equal(got.buffer, '[object SharedArrayBuffer]');
  assert.equal(got.memory, asBuffer ? null : '[object WebAssembly.Memory]');
  const seen = value(await p.preload(PRELOAD_SIDE));
  assert.equal(seen.byte0, 0xab, 'a page write is seen by the preload');
  // the counter (bytes 4..7 of the range: 04 05 06 07) got +5 in the page, then +7 in the preload
  assert.equal(seen.added, 12, 'Atomics.add from both worlds land on one counter');
  assert.equal(seen.woken, 1, "the preload's notify wakes the page's waitAsync");
  const page = value(await p.main(PAGE_SIDE));
  assert.deepEqual(page, { waited: 'ok', byte64: 0xcd, added: 7 });
  return got;
}


describe('handoff in real Chromium (isolated world → page world)', () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.close();
  });

  describe('with --enable-features=SharedArrayBuffer (a plain page)', () => {
    let browser;
    let p;
    before(async () => {
      browser = await launch({ sharedArrayBufferFeature: true });
    });
    after(async () => browser?.close());
    beforeEach(async () => {
      p = await openPage(browser, `${server.origin}/plain.html`);
    });
    afterEach(async () => {
      assert.deepEqual(p.errors, []);
      await p.close();
    });

    it('a shared WebAssembly.Memory arrives as the same memory (writes and Atomics both ways)', async () => {
      const got = await assertSameMemory(p);
      assert.equal(got.crossOriginIsolated, false, 'the feature switch, not isolation, allowed it');
    });
    it('a bare SharedArrayBuffer too (memory is then null)', async () => {
      await assertSameMemory(p, { asBuffer: true });
    });
  });

  describe('without the feature switch', () => {
    let browser;
    let p;
    before(async () => {
      browser = await launch();
    });
    after(async () => browser?.close());
    afterEach(async () => {
      assert.deepEqual(p.errors, []);
      await p.close();
    });

    it('on a COOP same-origin + COEP require-corp page: the same memory', async () => {
      p = await openPage(browser, `${server.origin}/coi.html`);
      const got = await assertSameMemory(p);
      assert.equal(got.crossOriginIsolated, true);
    });

    describe('on a plain page', () => {
      beforeEach(async () => {
        p = await openPage(browser, `${server.origin}/plain.html`);
      });

      it('offerShared rejects with ERR_SHM_SAB_UNAVAILABLE naming both fixes', async () => {
        for (const asBuffer of [false, true]) {
          const r = await p.preload(OFFER_SHARED, asBuffer);
          assert.equal(r.error?.code, 'ERR_SHM_SAB_UNAVAILABLE');
          assert.match(r.error.message, /appendSwitch\('enable-features', 'SharedArrayBuffer'\)/);
          assert.match(r.error.message, /Cross-Origin-Opener-Policy: same-origin/);
          assert.match(r.error.message, /Cross-Origin-Embedder-Policy: require-corp/);
          assert.match(r.error.message, /protocol\.handle/);
        }
        assert.equal(value(await p.main('() => crossOriginIsolated')), false);
      });

      it('offerTransfer moves the buffer: detached in the preload, the same bytes in the page', async () => {
        const offered = value(await p.preload(`async () => {
          const buffer = new ArrayBuffer(1 << 20);
          const u8 = new Uint8Array(buffer);
          for (let i = 0; i < u8.length; i++) u8[i] = (i * 7 + 3) & 255;
          const offer = await dom.offerTransfer(window, buffer, { kind: 'snapshot' });
          return { offer, byteLength: buffer.byteLength, detached: buffer.detached };
        }`));
        assert.equal(offered.byteLength, 0);
        assert.equal(offered.detached, true, 'moved at offer time, never cloned');
        const got = value(await p.main(`async (offer) => {
          const { buffer, meta } = await dom.receiveTransfer(window, offer);
          const u8 = new Uint8Array(buffer);
          let bad = 0;
          for (let i = 0; i < u8.length; i++) if (u8[i] !== ((i * 7 + 3) & 255)) bad++;
          return { byteLength: buffer.byteLength, bad, meta, tag: Object.prototype.toString.call(buffer) };
        }`, offered.offer));
        assert.deepEqual(got, { byteLength: 1 << 20, bad: 0, meta: { kind: 'snapshot' }, tag: '[object ArrayBuffer]' });
      });

      it('an offer is claimed once; an unknown token or an expired offer time out with ERR_SHM_HANDOFF_TIMEOUT', async () => {
        const offer = value(await p.preload(`() => dom.offerTransfer(window, new ArrayBuffer(8), {})`));
        value(await p.main(`(offer) => dom.receiveTransfer(window, offer).then(() => true)`, offer));
        const again = await p.main(`(offer) => dom.receiveTransfer(window, offer, { timeoutMs: 300 })`, offer);
        assert.equal(again.error?.code, 'ERR_SHM_HANDOFF_TIMEOUT');
        const unknown = await p.main(`() => dom.receiveTransfer(window, { token: '0123456789abcdef0123456789abcdef' }, { timeoutMs: 200 })`);
        assert.equal(unknown.error?.code, 'ERR_SHM_HANDOFF_TIMEOUT');
        const expiring = value(await p.preload(`() => dom.offerTransfer(window, new ArrayBuffer(8), {}, { timeoutMs: 50 })`));
        await p.main(`() => new Promise((r) => setTimeout(r, 300))`);
        const expired = await p.main(`(offer) => dom.receiveTransfer(window, offer, { timeoutMs: 300 })`, expiring);
        assert.equal(expired.error?.code, 'ERR_SHM_HANDOFF_TIMEOUT');
      });

      it('ignores junk and claims from other windows posted on the window; the real claim still works', async () => {
        const offer = value(await p.preload(`() => dom.offerTransfer(window, new Uint8Array([1, 2, 3]).buffer, { ok: true })`));
        const ports = value(await p.main(`async ({ offer, PROTOCOL }) => {
          globalThis.portsSeen = 0;
          addEventListener('message', (e) => { if (e.data && e.data.kind === 'port' && e.data.token === offer.token) portsSeen++; });
          const junk = [null, 42, 'claim', [], {}, { shmkit: PROTOCOL }, { shmkit: PROTOCOL, kind: 'claim' },
            { shmkit: PROTOCOL, kind: 'claim', token: 123 }, { shmkit: PROTOCOL, kind: 'claim', token: [offer.token] },
            { shmkit: PROTOCOL, kind: 'claim', token: offer.token.toUpperCase() }, { shmkit: 'other', kind: 'claim', token: offer.token },
            { shmkit: PROTOCOL, kind: 'claim', token: 'x'.repeat(1 << 20) }];
          for (const m of junk) postMessage(m, '*');
          // a same-origin iframe knows the token and claims it: not from this window, so not honoured
          const frame = document.createElement('iframe');
          frame.src = '/frame.html';
          await new Promise((r) => { frame.onload = r; document.body.append(frame); });
          frame.contentWindow.eval('parent.postMessage({ shmkit: ' + JSON.stringify(PROTOCOL) + ', kind: "claim", token: ' + JSON.stringify(offer.token) + ' }, "*")');
          await new Promise((r) => setTimeout(r, 300));
          return portsSeen;
        }`, { offer, PROTOCOL }));
        assert.equal(ports, 0, 'no port was handed out for junk or a foreign claim');
        const got = value(await p.main(`async (offer) => {
          const r = await dom.receiveTransfer(window, offer);
          return { bytes: Array.from(new Uint8Array(r.buffer)), meta: r.meta, portsSeen };
        }`, offer));
        assert.deepEqual(got, { bytes: [1, 2, 3], meta: { ok: true }, portsSeen: 1 });
      });

      it('receive* rejects a malformed payload on the port with ERR_SHM_BRIDGE_PROTOCOL', async () => {
        // The page plays the preload: it answers its own claim with a port carrying bad payloads.
        const codes = value(await p.main(`async (PROTOCOL) => {
          const token = '00112233445566778899aabbccddeeff';
          const fake = (payload) => {
            const onClaim = (e) => {
              if (e.data?.kind !== 'claim') return;
              removeEventListener('message', onClaim);
              const ch = new MessageChannel();
              ch.port1.postMessage(payload);
              postMessage({ shmkit: PROTOCOL, kind: 'port', token }, '*', [ch.port2]);
            };
            addEventListener('message', onClaim);
          };
          const cases = [
            ['transfer', { shmkit: PROTOCOL, kind: 'transfer', token, buffer: 'nope', meta: {} }],
            ['transfer', { shmkit: PROTOCOL, kind: 'transfer', token, buffer: new ArrayBuffer(4) }],
            ['transfer', { shmkit: PROTOCOL, kind: 'shared', token, buffer: new ArrayBuffer(4), meta: {} }],
            ['transfer', 'just a string'],
            ['shared', { shmkit: PROTOCOL, kind: 'shared', token, memory: new ArrayBuffer(64), byteOffset: 0, byteLength: 8, meta: {} }],
            ['shared', { shmkit: PROTOCOL, kind: 'shared', token, memory: null, byteOffset: 0, byteLength: 8, meta: {} }],
          ];
          const codes = [];
          for (const [kind, payload] of cases) {
            fake(payload);
            const receiver = kind === 'shared' ? dom.receiveShared : dom.receiveTransfer;
            try { await receiver(window, { token }, { timeoutMs: 2000 }); codes.push('resolved'); } catch (e) { codes.push(e.code); }
          }
          return codes;
        }`, PROTOCOL));
        assert.deepEqual(codes, Array(6).fill('ERR_SHM_BRIDGE_PROTOCOL'));
      });

      it('rejects bad arguments with codes', async () => {
        const preload = value(await p.preload(`async () => {
          const shared = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
          const detached = new ArrayBuffer(8); structuredClone(detached, { transfer: [detached] });
          const calls = [
            () => dom.offerShared(null, shared, { byteOffset: 0, byteLength: 1 }, {}),
            () => dom.offerShared(window, new WebAssembly.Memory({ initial: 1 }), { byteOffset: 0, byteLength: 1 }, {}),
            () => dom.offerShared(window, new ArrayBuffer(8), { byteOffset: 0, byteLength: 1 }, {}),
            () => dom.offerShared(window, shared, { byteOffset: 65000, byteLength: 1000 }, {}),
            () => dom.offerShared(window, shared, { byteOffset: -1, byteLength: 1 }, {}),
            () => dom.offerShared(window, shared, null, {}),
            () => dom.offerShared(window, shared, { byteOffset: 0, byteLength: 1 }, null),
            () => dom.offerShared(window, shared, { byteOffset: 0, byteLength: 1 }, { f() {} }),
            () => dom.offerTransfer(window, detached, {}),
            () => dom.offerTransfer(window, shared.buffer, {}),
            () => dom.offerTransfer(window, new Uint8Array(4), {}),
            () => dom.offerTransfer(window, new ArrayBuffer(4), {}, { timeoutMs: -1 }),
          ];
          const codes = [];
          for (const call of calls) { try { await call(); codes.push('resolved'); } catch (e) { codes.push(e.code); } }
          return codes;
        }`));
        assert.deepEqual(preload, [
          'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE',
          'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE',
          'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE',
        ]);
        const page = value(await p.main(`async () => {
          const calls = [
            () => dom.receiveShared(window, null),
            () => dom.receiveShared(window, { token: 'not-a-token' }),
            () => dom.receiveTransfer(window, { token: 42 }),
            () => dom.receiveTransfer(window, { token: '0123456789abcdef0123456789abcdef' }, { timeoutMs: 0 }),
            () => dom.receiveTransfer({}, { token: '0123456789abcdef0123456789abcdef' }),
          ];
          const codes = [];
          for (const call of calls) { try { await call(); codes.push('resolved'); } catch (e) { codes.push(e.code); } }
          return codes;
        }`));
        assert.deepEqual(page, ['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_TYPE']);
      });
    });
  });
});
