-- wrk script for the `bridge` scenario of gadai-bench (see bench/src/bridge.rs).
-- POST /api/insert-orders, one order per request, each request with its own Idempotency-Key
-- (run prefix, thread id, counter), so every request is a new order.
--
-- Environment: BENCH_APPS_KEY (X-API-Key), BENCH_KEY_PREFIX (unique per wrk run).

local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local counter = 0
local prefix = os.getenv("BENCH_KEY_PREFIX") or "wrk"
local names = { "Budi Santoso", "Siti Aminah", "Agus Wijaya", "Dewi Lestari", "Rudi Hartono" }
local items = { "iPhone 14", "Samsung Galaxy S23", "Xiaomi Redmi Note 12", "Oppo Reno 8" }
local regions = { "DKI Jakarta", "Jawa Barat", "Jawa Timur", "Bali", "Sumatera Utara" }

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["X-API-Key"] = os.getenv("BENCH_APPS_KEY") or "bench-apps-key"
end

function request()
   counter = counter + 1
   wrk.headers["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. counter
   local body = string.format(
      '{"nama_customer":"%s","email":"pelanggan%d@example.com","nama_barang":"%s",' ..
      '"jenis_barang":"handphone","jumlah_barang":1,"estimasi_nilai_barang":%d,' ..
      '"wilayah":"%s","id_percakapan":"wrk-%s-%d"}',
      names[counter % #names + 1], counter % 1000, items[counter % #items + 1],
      1000000 + (counter % 100) * 50000, regions[counter % #regions + 1], tid, counter)
   return wrk.format(nil, nil, nil, body)
end
