/** HYPERVISOR_console_io (drivers/char/console.c do_console_io): write to Xen's console. */
import { CONSOLEIO_read, CONSOLEIO_write } from "../abi";
import { Handler, err, num } from "./context";

export const consoleIo: Handler = (c, a) => {
  const cmd = num(a[0]!), count = num(a[1]!), buf = num(a[2]!);
  switch (cmd) {
    case CONSOLEIO_write: {
      if (count < 0) return err("EINVAL");
      const bytes = c.mem.read(buf, count);
      // Guests other than dom0: only printable characters and newlines reach the console
      // (guest_console_write filters with isprint/isspace-like rules).
      let s = "";
      for (const b of bytes) if (b === 10 || b === 9 || (b >= 32 && b < 127) || c.dom.domid === 0) s += String.fromCharCode(b);
      c.text = s;
      c.host.consoleIoWrite(c.dom, s);
      return 0;
    }
    case CONSOLEIO_read:
      // Only the hardware domain reads Xen's serial input.
      return c.dom.domid === 0 ? 0 : err("EPERM");
    default: return err("ENOSYS");
  }
};
