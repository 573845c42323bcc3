/**
 * A 16550A UART (COM1 at I/O port 0x3f8), the serial port Hyper-V's firmware presents to a
 * generation-1 partition and Linux's 8250 driver and earlyprintk=serial drive. Registers from the
 * 16550 datasheet as Linux's include/uapi/linux/serial_reg.h names them: RBR/THR, IER, IIR/FCR,
 * LCR (DLAB switches offsets 0/1 to the divisor latch), MCR (bit 4 loopback), LSR, MSR, SCR.
 * Transmission is instantaneous (THR and the shift register are always empty again), so LSR
 * always has THRE|TEMT; received bytes wait in a 16-byte FIFO (the rest of a line is kept back
 * until the guest reads, as a terminal's flow control would). No interrupt line: the partition's
 * firmware tables give the port no IRQ, so Linux polls it.
 */
export const COM1_PORT = 0x3f8;

/** serial_reg.h offsets and bits used here. */
const UART = {
  RX: 0, TX: 0, IER: 1, IIR: 2, FCR: 2, LCR: 3, MCR: 4, LSR: 5, MSR: 6, SCR: 7,
  LCR_DLAB: 0x80, MCR_LOOP: 0x10, FCR_ENABLE_FIFO: 0x01, FCR_CLEAR_RCVR: 0x02,
  IIR_NO_INT: 0x01, IIR_RDI: 0x04, IIR_THRI: 0x02, IIR_FIFO_ENABLED: 0xc0,
  IER_RDI: 0x01, IER_THRI: 0x02,
  LSR_DR: 0x01, LSR_THRE: 0x20, LSR_TEMT: 0x40,
  /** MSR with the modem lines up: DCD | DSR | CTS (what a connected terminal shows). */
  MSR_CONNECTED: 0x80 | 0x20 | 0x10,
} as const;
const FIFO_DEPTH = 16;

export class Uart16550 {
  private ier = 0; private lcr = 0x03; private mcr = 0; private scr = 0; private fcr = 0;
  private dll = 0x0c; private dlm = 0;
  private readonly rx: number[] = [];
  private pendingInput = "";

  constructor(readonly base: number, private readonly output: (s: string) => void) {}

  claims(port: number): boolean { return port >= this.base && port < this.base + 8; }

  /** Types text into the port (the terminal side); it enters the FIFO as the guest drains it. */
  input(text: string): void { this.pendingInput += text; this.refill(); }

  read(port: number): number {
    const r = port - this.base;
    const dlab = (this.lcr & UART.LCR_DLAB) !== 0;
    switch (r) {
      case UART.RX: {
        if (dlab) return this.dll;
        const b = this.rx.shift() ?? 0;
        this.refill();
        return b;
      }
      case UART.IER: return dlab ? this.dlm : this.ier;
      case UART.IIR: {
        const fifo = this.fcr & UART.FCR_ENABLE_FIFO ? UART.IIR_FIFO_ENABLED : 0;
        if (this.ier & UART.IER_RDI && this.rx.length) return fifo | UART.IIR_RDI;
        if (this.ier & UART.IER_THRI) return fifo | UART.IIR_THRI;
        return fifo | UART.IIR_NO_INT;
      }
      case UART.LCR: return this.lcr;
      case UART.MCR: return this.mcr;
      case UART.LSR: return UART.LSR_THRE | UART.LSR_TEMT | (this.rx.length ? UART.LSR_DR : 0);
      case UART.MSR:
        // In loopback the modem inputs are the MCR outputs (DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD),
        // which 8250's autoconfig checks.
        if (this.mcr & UART.MCR_LOOP) return ((this.mcr & 1) << 5) | ((this.mcr & 2) << 3) | ((this.mcr & 4) << 4) | ((this.mcr & 8) << 4);
        return UART.MSR_CONNECTED;
      default: return this.scr;
    }
  }

  write(port: number, value: number): void {
    const r = port - this.base, v = value & 0xff;
    const dlab = (this.lcr & UART.LCR_DLAB) !== 0;
    switch (r) {
      case UART.TX:
        if (dlab) { this.dll = v; return; }
        if (this.mcr & UART.MCR_LOOP) { if (this.rx.length < FIFO_DEPTH) this.rx.push(v); return; }
        this.output(String.fromCharCode(v));
        return;
      case UART.IER: if (dlab) this.dlm = v; else this.ier = v & 0x0f; return;
      case UART.FCR:
        this.fcr = v;
        if (v & UART.FCR_CLEAR_RCVR) this.rx.length = 0;
        return;
      case UART.LCR: this.lcr = v; return;
      case UART.MCR: this.mcr = v & 0x1f; return;
      case UART.SCR: this.scr = v; return;
      default: return; // LSR and MSR are read-only
    }
  }

  private refill(): void {
    while (this.rx.length < FIFO_DEPTH && this.pendingInput.length) {
      this.rx.push(this.pendingInput.charCodeAt(0) & 0xff);
      this.pendingInput = this.pendingInput.slice(1);
    }
  }
}
