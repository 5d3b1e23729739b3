// Download links that need no Authorization header (so `<img src>` works): an HMAC-SHA256 over
// the file id, the variant and the expiry, with FILES_SECRET. A link names exactly one object
// until one moment; changing any of the three breaks its signature.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { FilesConfig } from "../../config/index.js";
import type { Logger } from "../../config/logger.js";

/** The contract's ceiling for a link's life. */
export const LINK_TTL_S = 300;

export const VARIANTS = ["original", "thumbnail"] as const;
export type Variant = (typeof VARIANTS)[number];

export type LinkCheck = "valid" | "forged" | "expired";

export class LinkSigner {
  constructor(
    private readonly secret: Buffer,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The path and query of a link to `variant` of the file, valid LINK_TTL_S from now. */
  path(fileId: string, variant: Variant): string {
    const exp = Math.floor(this.clock() / 1000) + LINK_TTL_S;
    return `/files/${fileId}/${variant}?exp=${exp}&sig=${this.sign(fileId, variant, exp)}`;
  }

  check(fileId: string, variant: Variant, exp: number, sig: string): LinkCheck {
    const expected = Buffer.from(this.sign(fileId, variant, exp));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "forged";
    return exp * 1000 < this.clock() ? "expired" : "valid";
  }

  private sign(fileId: string, variant: Variant, exp: number): string {
    return createHmac("sha256", this.secret)
      .update(`${fileId}\n${variant}\n${exp}`)
      .digest("base64url");
  }
}

/**
 * FILES_SECRET, or a random secret for this process. Links then work only on the instance that
 * signed them, which is fine for one business process; several behind one address need one.
 */
export function linkSecret(config: FilesConfig, redisUrl: string | undefined, logger: Logger) {
  if (config.secret !== undefined) return Buffer.from(config.secret);
  if (redisUrl !== undefined && config.s3 === undefined)
    logger.warn(
      "FILES_SECRET is unset: file links work only on the business instance that made them",
    );
  return randomBytes(32);
}

/**
 * Content-Disposition for a stored name: `attachment`, or `inline` for a previewable image; the
 * name as an ASCII fallback and as UTF-8 (RFC 6266, RFC 5987), so no name breaks the header.
 */
export function contentDisposition(name: string, inline: boolean): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${inline ? "inline" : "attachment"}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
