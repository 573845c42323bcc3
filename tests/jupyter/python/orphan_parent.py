"""A client that starts the xenlab kernelspec with Debian's jupyter_client, optionally starts a
busy cell, prints the kernel's pid, then waits to be killed (the test SIGKILLs it: a crashed
notebook server or console)."""
import sys, time
from jupyter_client.manager import start_new_kernel

km, kc = start_new_kernel(kernel_name="xenlab", startup_timeout=60)
if len(sys.argv) > 1 and sys.argv[1] == "busy":
    kc.execute("console.log('busy'); while (true) {}")
    while True:
        m = kc.get_iopub_msg(timeout=30)
        if m["msg_type"] == "stream" and "busy" in m["content"].get("text", ""):
            break
print(km.provisioner.process.pid, flush=True)
time.sleep(600)
