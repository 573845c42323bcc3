"""Drives the installed xenlab kernelspec with Debian's jupyter_client, the way consoles and
notebook servers do: start, kernel_info, execute, interrupt (message mode), restart, shutdown.
Prints one JSON object with what it saw."""
import json, queue, sys, time
from jupyter_client.manager import start_new_kernel

out = {}
t0 = time.time()
km, kc = start_new_kernel(kernel_name="xenlab", startup_timeout=60)
out["startup_s"] = time.time() - t0
out["interrupt_mode"] = km.kernel_spec.interrupt_mode

info = kc.kernel_info(reply=True, timeout=10)
out["kernel_info"] = info["content"]

def run(code, **kw):
    msgs = []
    reply = kc.execute_interactive(code, output_hook=lambda m: msgs.append({"type": m["msg_type"], "content": m["content"]}), timeout=30, **kw)
    return {"reply": reply["content"], "iopub": msgs}

out["execute"] = run("const answer = 6 * 7; console.log('side effect'); answer")
out["error"] = run("throw new TypeError('bad frame')")

# Interrupt a busy loop through KernelManager (interrupt_mode "message" => interrupt_request).
msg_id = kc.execute("while (true) {}")
time.sleep(0.5)
t = time.time()
km.interrupt_kernel()
while True:
    reply = kc.get_shell_msg(timeout=10)
    if reply["parent_header"].get("msg_id") == msg_id:
        break
out["interrupt"] = {"reply": reply["content"], "seconds": time.time() - t}
out["alive_after_interrupt"] = run("answer + 1")["reply"]["status"]

# Restart gives a fresh kernel: the old variable is gone.
km.restart_kernel(now=False)
kc.wait_for_ready(timeout=30)
out["after_restart"] = run("typeof (globalThis as any).answer + ':' + (() => { try { return eval('answer') } catch (e) { return 'gone' } })()")

kc.stop_channels()
km.shutdown_kernel(now=False)
out["exit_code"] = km.provisioner.exit_future.result() if hasattr(km.provisioner, "exit_future") else None
out["alive_after_shutdown"] = km.is_alive()
print(json.dumps(out))
