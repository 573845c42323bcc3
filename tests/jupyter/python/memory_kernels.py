"""Resident memory of kernels as Debian's jupyter_client starts them (the way consoles and
notebook servers do), read from /proc/<pid>/status. argv[1] is a JSON plan:
{"kernel": name, "steps": [{"code": ..., "back_to": {"step": i, "within_mib": m, "wait_s": s}}, ...]}
(back_to optional: wait up to s seconds for RSS to come within m MiB of step i's figure;
"quick": true runs the step without settling, for the many small cells between two figures).
Prints one JSON object: the RSS after start, and each step's reply status and RSS once it settled."""
import json, os, sys, time
from jupyter_client.manager import start_new_kernel

SETTLE_S = 0.5


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


plan = json.loads(sys.argv[1])
km, kc = start_new_kernel(kernel_name=plan["kernel"], startup_timeout=60)
pid = km.provisioner.process.pid
try:
    kc.kernel_info(reply=True, timeout=30)
    time.sleep(SETTLE_S)
    out = {"started_mib": rss_mib(pid), "steps": []}
    for step in plan["steps"]:
        reply = kc.execute_interactive(step["code"], output_hook=lambda m: None, timeout=120)
        if not step.get("quick"):
            time.sleep(SETTLE_S)
        # A bounded wait for memory to come back: the figure is where it stood when the wait ended.
        back = step.get("back_to")
        if back:
            limit = out["steps"][back["step"]]["rss_mib"] + back["within_mib"]
            deadline = time.time() + back["wait_s"]
            while rss_mib(pid) > limit and time.time() < deadline:
                time.sleep(0.1)
        out["steps"].append({"status": reply["content"]["status"], "rss_mib": rss_mib(pid), "evalue": reply["content"].get("evalue")})
    print(json.dumps(out))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    sys.stdout.flush()
    # jupyter_client's finalizers log at interpreter exit and fail there (TypeError on stderr).
    os._exit(0)
