// The parity suite's reference: tests/scenarios/parity.py, line for line, in JavaScript on
// the host's own WebSocket (Chromium's, in a headless page). Same scenario dicts, same
// trace format; read that module's docstring for both.
//
// tests/parity/test_parity.py sends this file as the body of an async function (run_js) after
// `const ITEMS = [[name, cid, spec], ...], HOST = "127.0.0.1:PORT", REFUSED = "127.0.0.1:PORT2",
// CONCURRENCY = n;`
// and gets back {name: trace}; tests/parity/test_parity_args.py sends it after `const MODE =
// "arguments", URL_ROWS = [...], CLOSE_ROWS = [...], HOST, REFUSED, CONCURRENCY` and gets back
// {url: [...], close: [...]}.

const SCENARIO_TIMEOUT = 5000;

function errorName(e) {
  return (e && e.name) || String(e);
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytesFromHex(text) {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}

function tick() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function runOne(spec, host, cid, refused) {
  const trace = [];
  const on = spec.on || {};
  const labels = new Map();
  const objects = new Map();
  const pending = []; // Blob reads, finished before the trace is returned
  let messages = 0;
  let ws = null;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));

  function fn(label) {
    if (!labels.has(label)) {
      labels.set(label, (event) => {
        trace.push({ L: label, ev: event.type, rs: ws.readyState });
        run("L:" + label);
        if (label.endsWith("!")) throw new Error(`listener ${label} throws (on purpose)`);
      });
    }
    return labels.get(label);
  }

  function obj(label) {
    if (!objects.has(label)) {
      objects.set(label, {
        handleEvent(event) {
          trace.push({ L: label, ev: event.type, rs: ws.readyState });
          run("L:" + label);
        },
      });
    }
    return objects.get(label);
  }

  function run(trigger) {
    for (const action of on[trigger] || []) act(action);
  }

  function act(action) {
    const [op, ...args] = action;
    try {
      if (op === "send") ws.send(args[0]);
      else if (op === "send_hex") ws.send(bytesFromHex(args[0]));
      else if (op === "close") {
        // JSON null is Python's None: the argument is left out (undefined).
        ws.close(...args.map((a) => (a === null ? undefined : a)));
      } else if (op === "binaryType") ws.binaryType = args[0];
      else if (op === "get") {
        for (const name of args) trace.push({ get: name, value: ws[name] });
      } else if (op === "listen") ws.addEventListener(args[0], fn(args[1]), ...args.slice(2));
      else if (op === "unlisten") ws.removeEventListener(args[0], fn(args[1]), ...args.slice(2));
      else if (op === "listen_obj") ws.addEventListener(args[0], obj(args[1]), ...args.slice(2));
      else if (op === "on") ws["on" + args[0]] = args[1] === null ? null : fn(args[1]);
      else if (op === "dispatch") trace.push({ dispatch: ws.dispatchEvent(new Event(args[0])) });
      else throw new Error("unknown action " + op);
    } catch (e) {
      if (e instanceof Error && e.message.startsWith("unknown action")) throw e;
      trace.push({ do: op, throw: errorName(e) });
    }
  }

  function record(event) {
    const entry = { ev: event.type, rs: ws.readyState };
    if (!event.isTrusted) entry.untrusted = true;
    if (event.type === "message" && event instanceof MessageEvent) {
      const data = event.data;
      if (typeof data === "string") entry.data = data;
      else if (data instanceof ArrayBuffer) {
        entry.hex = hex(data);
        entry.kind = "arraybuffer";
      } else {
        entry.hex = null;
        entry.kind = "blob";
        pending.push(data.arrayBuffer().then((buffer) => (entry.hex = hex(buffer))));
      }
      entry.origin = event.origin;
    }
    if (event.type === "open" || event.type === "close") {
      entry.protocol = ws.protocol;
      entry.extensions = ws.extensions;
    }
    if (event.type === "close") {
      entry.code = event.code;
      entry.reason = event.reason;
      entry.wasClean = event.wasClean;
    }
    trace.push(entry);
    run(event.type);
    if (event.type === "message") {
      messages += 1;
      run("message#" + messages);
    }
    if (event.type === "close") finish();
  }

  const timeout = (spec.timeout || SCENARIO_TIMEOUT / 1000) * 1000;
  let control = null;
  if (Object.keys(on).some((key) => key.startsWith("signal:"))) {
    control = new WebSocket(`ws://${host}/signal/${cid}`);
    await new Promise((resolve, reject) => {
      control.onopen = resolve;
      control.onerror = () => reject(new Error("the control socket failed"));
    });
    control.onmessage = (event) => run("signal:" + event.data);
  }
  const url = (spec.url || "ws://{host}/s/{cid}").replace("{host}", host)
    .replace("{cid}", cid).replace("{refused}", refused);
  try {
    ws = "protocols" in spec && spec.protocols !== null
      ? new WebSocket(url, spec.protocols)
      : new WebSocket(url);
  } catch (e) {
    trace.push({ do: "new", throw: errorName(e) });
    return trace;
  }
  for (const kind of ["open", "message", "error", "close"]) ws.addEventListener(kind, record);
  run("start");
  let timer;
  const timedOut = await Promise.race([
    done.then(() => false),
    new Promise((resolve) => (timer = setTimeout(() => resolve(true), timeout))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    trace.push({ ev: "TIMEOUT", rs: ws.readyState });
    ws.close();
  }
  for (let i = 0; i < 3; i++) await tick();
  await Promise.all(pending);
  if (control !== null) control.close();
  return trace;
}

async function runBatch(items, host, refused, concurrency) {
  const results = {};
  const queue = items.slice();
  async function worker() {
    while (queue.length) {
      const [name, cid, spec] = queue.shift();
      try {
        results[name] = await runOne(spec, host, cid, refused);
      } catch (e) {
        results[name] = [{ INTERPRETER_ERROR: String((e && e.stack) || e) }];
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

// The argument table: tests/scenarios/parity.py's run_arguments, in JavaScript.
async function closeRow(row, host, timeout) {
  const ws = new WebSocket(`ws://${host}/s/${row.cid}`);
  const opened = new Promise((resolve) => ws.addEventListener("open", resolve));
  const closed = new Promise((resolve) => ws.addEventListener("close", resolve));
  const timer = (what) => new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`no ${what} within ${timeout} ms`)), timeout));
  await Promise.race([opened, timer("open")]);
  const out = {};
  try {
    ws.close(...row.args.map((a) => (a === null ? undefined : a)));
    out.readyState = ws.readyState;
  } catch (e) {
    out.throw = errorName(e);
    out.readyState = ws.readyState;
    ws.close();
  }
  const event = await Promise.race([closed, timer("close")]);
  out.close = [event.code, event.reason, event.wasClean];
  return out;
}

async function runArguments(urlRows, closeRows, host, refused, concurrency) {
  const timeout = 10000;
  const closes = new Array(closeRows.length);
  let next = 0;
  async function worker() {
    while (next < closeRows.length) {
      const i = next++;
      try {
        closes[i] = await closeRow(closeRows[i], host, timeout);
      } catch (e) {
        closes[i] = { INTERPRETER_ERROR: String(e) };
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const urls = [];
  const pending = [];
  for (const row of urlRows) {
    const url = row.url.replace("{host}", host).replace("{rport}", refused.split(":")[1]);
    let ws;
    try {
      ws = "protocols" in row ? new WebSocket(url, row.protocols) : new WebSocket(url);
    } catch (e) {
      urls.push({ throw: errorName(e) });
      continue;
    }
    urls.push({ url: ws.url });
    // close, or error alone: Node's undici fires no close after a failed attempt.
    pending.push(new Promise((resolve) => {
      ws.addEventListener("close", resolve);
      ws.addEventListener("error", resolve);
    }));
    ws.close();
  }
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, timeout))]);
  return { url: urls, close: closes };
}

if (typeof MODE !== "undefined" && MODE === "arguments") {
  return await runArguments(URL_ROWS, CLOSE_ROWS, HOST, REFUSED, CONCURRENCY);
}
return await runBatch(ITEMS, HOST, REFUSED, CONCURRENCY);
