// X-Herald-Signature: the receiver recomputes it over the raw body with the shared secret
// (IM_WEBHOOK_SECRET) and compares in constant time before trusting a call.
import { createHmac } from "node:crypto";

/** `sha256=<hex HMAC-SHA256 of body>`. */
export function sign(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
