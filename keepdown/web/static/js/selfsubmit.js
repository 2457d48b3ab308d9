// The self-submission page (keepdown/web/pages/self_submission.py, docs/self-submission.md).
//
// 1. The files the person picks are handed, one at a time, to the hashing worker
//    (selfhash/worker.js): it reads them on this device and answers hashes only.
// 2. The page sends keepdown those hashes and the two answers, as JSON, to the submission
//    endpoint (the only address this page's Content-Security-Policy lets it reach), and shows
//    the case number and the PIN it gets back.
// 3. The case form checks or withdraws a case with its number and PIN.
//
// No file's bytes ever leave the worker: what is sent is built here, field by field, from the
// worker's answer (media, md5, sha256, quality, the 8 PDQ hashes).

const root = document.getElementById("self-submission");
const api = root.dataset.api;
const texts = root.dataset;

function say(element, text, values = {}) {
  let out = text;
  for (const [key, value] of Object.entries(values)) out = out.replace(`{${key}}`, String(value));
  element.textContent = out;
}

let worker = null;
let nextId = 1;
const waiting = new Map();

function hashOne(file) {
  if (worker === null) {
    worker = new Worker("/web/static/js/selfhash/worker.js", { type: "module" });
    worker.addEventListener("message", (event) => {
      const { id } = event.data || {};
      const done = waiting.get(id);
      if (done) {
        waiting.delete(id);
        done(event.data);
      }
    });
  }
  const id = nextId++;
  const options = {
    applyExifOrientation: texts.exif === "on",
    maxPixels: Number(texts.maxPixels),
    maxImageBytes: Number(texts.maxImageBytes),
    maxVideoBytes: Number(texts.maxVideoBytes),
  };
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    worker.postMessage({ id, file, options });
  });
}

/** The item keepdown takes for one hashed file: hashes only. */
function itemOf(result) {
  const item = { media: result.kind === "image" ? "image" : "video", md5: result.md5, sha256: result.sha256 };
  if (result.kind === "image" && result.pdq) {
    item.quality = result.quality;
    item.pdq = { ...result.pdq };
  }
  return item;
}

async function post(path, body) {
  const answer = await fetch(api + path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": texts.csrf },
    body: JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(data.message || data.detail || String(answer.status));
  return data;
}

function chosen(form, name) {
  const picked = form.querySelector(`input[name="${name}"]:checked`);
  return picked ? picked.value : "";
}

async function send(event) {
  event.preventDefault();
  const form = event.target;
  const progress = document.getElementById("progress");
  const skipped = document.getElementById("skipped");
  skipped.replaceChildren();
  const files = [...document.getElementById("files").files];
  if (files.length === 0) return say(progress, texts.tNone);
  if (files.length > Number(texts.maxItems)) return say(progress, texts.tTooMany);
  const button = document.getElementById("send");
  button.disabled = true;
  try {
    const items = [];
    for (const [index, file] of files.entries()) {
      say(progress, texts.tHashing, { done: index, total: files.length });
      const answer = await hashOne(file);
      if (answer.error) {
        const line = document.createElement("li");
        say(line, texts.tSkipped, { why: `${file.name}: ${answer.error.message}` });
        skipped.append(line);
        continue;
      }
      items.push(itemOf(answer.result));
    }
    if (items.length === 0) return say(progress, texts.tNone);
    say(progress, texts.tSending);
    const receipt = await post("send", {
      age_at_time: chosen(form, "age"),
      share_with_platforms: chosen(form, "share") === "yes",
      items,
    });
    document.getElementById("case-number").textContent = receipt.case_number;
    document.getElementById("case-pin").textContent = receipt.pin;
    document.getElementById("receipt").hidden = false;
    progress.textContent = "";
    form.reset();
  } catch (err) {
    say(progress, texts.tFailed, { why: err.message });
  } finally {
    button.disabled = false;
  }
}

async function caseAction(event) {
  event.preventDefault();
  const status = document.getElementById("case-status");
  const action = event.submitter && event.submitter.value === "withdraw" ? "withdraw" : "case";
  try {
    const answer = await post(action, {
      case_number: document.getElementById("case-input").value,
      pin: document.getElementById("pin-input").value,
    });
    const text = answer.status === "withdrawn" ? texts.tStatusWithdrawn : texts.tStatusActive;
    const removed = texts.tRemoved.replace("{n}", String(answer.copies_removed));
    status.textContent = `${text} ${removed}`;
    status.dataset.status = answer.status;
  } catch (err) {
    say(status, texts.tFailed, { why: err.message });
    status.dataset.status = "error";
  }
}

document.getElementById("send-form").addEventListener("submit", send);
document.getElementById("case-form").addEventListener("submit", caseAction);
