/** [full path, methods] of every route in Fastify's printRoutes tree (children indent by 4). */
export function routeTree(printed: string): [string, string[]][] {
  const stack: string[] = [];
  const out: [string, string[]][] = [];
  for (const line of printed.split("\n")) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? "").length / 4;
    stack.length = depth;
    stack.push(match[2] ?? "");
    if (match[3]) out.push([stack.join(""), match[3].split(", ")]);
  }
  return out;
}
