/**
 * The request line of an access log (`GET /api/user HTTP/1.0`) and the section of a path.
 * Hand-written rather than a regex per line: this runs for every line of a multi-gigabyte log.
 */

export interface RequestLine {
  method: string;
  path: string;
  protocol: string;
}

/** RFC 9110 token characters, which a method consists of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);
const ABSOLUTE_URL = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** Parses `METHOD TARGET [PROTOCOL]`; returns the reason when the text is not such a line. */
export function parseRequestLine(request: string): RequestLine | string {
  const sp1 = request.indexOf(' ');
  if (sp1 <= 0) return 'request is not "METHOD PATH [PROTOCOL]"';
  const method = request.slice(0, sp1);
  if (!KNOWN_METHODS.has(method) && !TOKEN.test(method)) return 'request method is not an HTTP token';
  const sp2 = request.indexOf(' ', sp1 + 1);
  const target = sp2 === -1 ? request.slice(sp1 + 1) : request.slice(sp1 + 1, sp2);
  if (target.length === 0) return 'request has no path';
  const protocol = sp2 === -1 ? '' : request.slice(sp2 + 1);
  if (protocol.includes(' ') || (sp2 !== -1 && protocol.length === 0)) return 'request is not "METHOD PATH [PROTOCOL]"';
  return { method, path: pathOfTarget(target), protocol };
}

/** A proxy's absolute-form target (`http://host/a/b`) reduced to its path; other forms as they are. */
function pathOfTarget(target: string): string {
  if (target.charCodeAt(0) === 47 /* / */ || !ABSOLUTE_URL.test(target)) return target;
  const slash = target.indexOf('/', target.indexOf('://') + 3);
  return slash === -1 ? '/' : target.slice(slash);
}

/**
 * The section of a path: its part before the second `/` (`/api/user` → `/api`, `/report` → `/report`,
 * `/` → `/`), ignoring the query string and fragment (`/report?x=1` → `/report`). A target that is
 * not a path (`*`, `host:443`) is its own section.
 */
export function sectionOf(path: string): string {
  let end = path.length;
  const q = path.indexOf('?');
  if (q !== -1) end = q;
  const h = path.indexOf('#');
  if (h !== -1 && h < end) end = h;
  if (path.charCodeAt(0) === 47) {
    const second = path.indexOf('/', 1);
    if (second !== -1 && second < end) end = second;
  }
  if (end === 0) return '/';
  return end === path.length ? path : path.slice(0, end);
}
