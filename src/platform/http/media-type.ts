/**
 * The media type of a Content-Type header: lower-cased, without parameters such as charset; '' when
 * the header is absent. Every route that decides by the type of its body reads it through this.
 */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}
