/** `sitebox demo [NAME]`: lists the demonstrations, or runs one. */
export async function runDemo(argv: string[]): Promise<number> {
  void argv;
  process.stdout.write("no demonstrations yet\n");
  return 0;
}
