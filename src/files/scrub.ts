/** Removes secret values from text bound for an error message or a log line. */
export function scrubber(...secrets: (string | undefined)[]): (text: string) => string {
  const list = secrets.filter((s): s is string => !!s && s.length >= 3);
  return (text) => list.reduce((t, s) => t.split(s).join('[redacted]'), text);
}
