// S3_URL, the one string that names an S3-compatible bucket:
//
//   s3://<accessKeyId>:<secretAccessKey>@<host>[:<port>]/<bucket>[?region=<region>&forcePathStyle=0|1]
//   s3+http://…   the same over plain HTTP (a local MinIO or s3rver)
//
// The key and secret are percent-encoded; without them the AWS SDK's default credential chain
// applies (environment, instance role). `region` defaults to us-east-1; buckets are addressed by
// path (`host/bucket/key`) unless `forcePathStyle=0` asks for virtual-hosted names.

export interface S3Location {
  /** `https://host[:port]` (or http:// for `s3+http://`). */
  endpoint: string;
  bucket: string;
  region: string;
  forcePathStyle: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9-]{1,32}$/;
const KNOWN_PARAMS = new Set(["region", "forcePathStyle"]);

/** Parses S3_URL; throws an Error whose message never contains the secret. */
export function parseS3Url(value: string): S3Location {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error("not a URL (s3://key:secret@host[:port]/bucket)");
  }
  const scheme = { "s3:": "https", "s3+http:": "http" }[url.protocol];
  if (scheme === undefined) throw new Error("the scheme must be s3:// or s3+http://");
  if (url.hostname === "") throw new Error("a host is required");
  const bucket = url.pathname.replace(/^\/+|\/+$/g, "");
  if (!BUCKET.test(bucket))
    throw new Error("the path must be one bucket name (3-63 of a-z 0-9 . -)");
  for (const name of url.searchParams.keys())
    if (!KNOWN_PARAMS.has(name)) throw new Error(`unknown parameter ${name}`);
  const region = url.searchParams.get("region") ?? "us-east-1";
  if (!REGION.test(region)) throw new Error("region must be a region name such as eu-west-1");
  const pathStyle = url.searchParams.get("forcePathStyle") ?? "1";
  if (pathStyle !== "0" && pathStyle !== "1") throw new Error("forcePathStyle must be 0 or 1");
  if ((url.username === "") !== (url.password === ""))
    throw new Error("give both the access key and the secret, or neither");
  let credentials: S3Location["credentials"];
  try {
    credentials =
      url.username === ""
        ? undefined
        : {
            accessKeyId: decodeURIComponent(url.username),
            secretAccessKey: decodeURIComponent(url.password),
          };
  } catch {
    throw new Error("the access key or secret is not valid percent-encoding");
  }
  return {
    endpoint: `${scheme}://${url.host}`,
    bucket,
    region,
    forcePathStyle: pathStyle === "1",
    credentials,
  };
}
