"""Runs cells on one kernel through Debian's jupyter_client and prints, as JSON, each cell's
reply status and its stdout stream text. argv: kernel name, then a JSON list of cells."""
import json, sys
from jupyter_client.manager import start_new_kernel

km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=90)
results = []
for code in json.loads(sys.argv[2]):
    texts = []
    def hook(m):
        if m["msg_type"] == "stream" and m["content"]["name"] == "stdout":
            texts.append(m["content"]["text"])
    reply = kc.execute_interactive(code, output_hook=hook, timeout=90)
    results.append({"status": reply["content"]["status"], "stdout": "".join(texts)})
kc.stop_channels()
km.shutdown_kernel(now=True)
print(json.dumps(results))
