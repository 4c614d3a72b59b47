/** Shows a thread's or turn's last error: the codexErrorInfo code as a chip, the message as a tooltip. */
import { codexErrorLabel } from "../lib/status.ts";

/** Nothing when there is no error; the message alone when there is no codexErrorInfo. */
export function CodexErrorChip({ info, message }: { info: string | null; message: string | null }) {
  const label = codexErrorLabel(info);
  if (!label && !message) return null;
  return (
    <span className="chip" title={message ?? label ?? ""}>
      {label ?? "error"}
    </span>
  );
}
