/** The real guest for tests: the library's own (src/guests/debian-linux.ts), which notebooks use too. */
export * from "../../src/guests/debian-linux";
