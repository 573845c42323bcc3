// seek-bzip ships no types; this is the one call the kernel-payload loader makes (lib/index.js Bunzip.decode).
declare module "seek-bzip" {
  const Bunzip: { decode(input: Buffer, output?: Buffer, multistream?: boolean): Buffer };
  export default Bunzip;
}
