import { z } from 'zod';

/**
 * Shipments (issue 10, "Shipments in"): the documented schema of one shipment as a customer sends
 * it, the bulk intake's answer, the listing, and the platform's currency rates. Field names are
 * snake_case, as sent and as answered. `declared_value_usd` is derived at intake from the rates
 * table and never accepted from the client (a row carrying it is refused, naming the field).
 */

/** ISO 3166-1 alpha-2: the officially assigned codes (249), checked against this list, not just the shape. */
export const ISO_COUNTRIES: ReadonlySet<string> = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
    'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT ' +
    'MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
    'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG ' +
    'UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

const country = (what: string) =>
  z
    .string()
    .refine((v) => ISO_COUNTRIES.has(v), { message: 'must be an ISO 3166-1 alpha-2 country code in upper case (e.g. "DE")' })
    .describe(`${what}: ISO 3166-1 alpha-2 country code, upper case (e.g. "DE")`);
const zoned = (what: string) => z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone (e.g. 2026-05-01T12:00:00Z)' }).describe(`${what}: ISO 8601 with a zone`);
const text = (max: number, what: string) => z.string().max(max).describe(what);
/**
 * The largest value a shipment's quantities may take (declared value in any currency, weight,
 * dimensions): beyond any real shipment, and small enough that a velocity sum over an entity's
 * shipments (fraud aggregates) stays finite — values near Number.MAX_VALUE made it Infinity.
 */
export const MAX_QUANTITY = 1e15;
/** The most US dollars a currency unit may be worth (the dearest, a troy ounce of gold XAU, is a few thousand). */
export const MAX_USD_PER_UNIT = 1e6;
const atMost = (max: number) => `must be at most ${max.toLocaleString('en-US')}`;
/** A stored quantity as read back (rows stored before MAX_QUANTITY existed may exceed it). */
const storedQuantity = (what: string) => z.number().nonnegative().describe(what);
const nonNegative = (what: string) => z.number().finite().nonnegative().max(MAX_QUANTITY, atMost(MAX_QUANTITY)).describe(what);

/** The most bytes `attributes` may take as JSON: free-form, but a shipment is not a document store. */
export const MAX_ATTRIBUTES_BYTES = 4096;
/** Objects and arrays nested inside `attributes`, at most (as log events' attributes). */
export const MAX_ATTRIBUTES_DEPTH = 32;

/**
 * Whether a parsed JSON value nests at most `max` objects/arrays deep, walked without recursion:
 * measuring a 100,000-level nesting with JSON.stringify (or any recursive walk) overflows the stack.
 */
function nestsAtMost(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return false;
    for (const child of Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return true;
}

/** One shipment as the customer sends it (JSON field, NDJSON line or CSV row). Unknown fields are refused. */
export const shipmentInput = z
  .strictObject({
    external_id: z.string().min(1).max(200).describe("The customer's own id of the shipment (1-200 characters); intake is idempotent by it within an organisation"),
    created_at: zoned('When the shipment was created at the customer'),
    declared_value: nonNegative('Declared value, in `currency`').optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code of three upper-case letters (e.g. "EUR")')
      .describe('ISO 4217 currency of `declared_value`; must be one of the platform\'s currency rates')
      .optional(),
    weight_kg: nonNegative('Gross weight in kilograms').optional(),
    dimensions_cm: z
      .strictObject({ length: nonNegative('Length (cm)'), width: nonNegative('Width (cm)'), height: nonNegative('Height (cm)') })
      .describe('Outer dimensions in centimetres (CSV: columns dimensions_cm.length, dimensions_cm.width, dimensions_cm.height)')
      .optional(),
    pieces: z.number().int().positive().max(1_000_000).describe('Number of pieces (parcels)').optional(),
    origin_country: country('Origin').optional(),
    destination_country: country('Destination').optional(),
    origin_postcode: text(20, 'Origin postcode').optional(),
    destination_postcode: text(20, 'Destination postcode').optional(),
    service_level: text(100, 'Service level (e.g. "express", "economy")').optional(),
    sender_id: text(200, "The customer's id of the sender (account)").optional(),
    sender_name: text(200, 'Sender name').optional(),
    sender_email: z.email({ message: 'must be an e-mail address' }).max(320).describe('Sender e-mail').optional(),
    sender_phone: text(50, 'Sender phone, as given').optional(),
    sender_created_at: zoned("When the sender's account was created").optional(),
    recipient_name: text(200, 'Recipient name').optional(),
    recipient_address: text(1000, 'Recipient address, as one text').optional(),
    recipient_phone: text(50, 'Recipient phone, as given').optional(),
    hs_code: z
      .string()
      .regex(/^\d{4,10}$/, 'must be 4 to 10 digits (Harmonized System code, no dots)')
      .describe('Harmonized System code of the goods, 4-10 digits')
      .optional(),
    description: text(1000, 'Description of the goods').optional(),
    sales_channel: text(100, 'Sales channel (e.g. "web", "marketplace")').optional(),
    ip_country: country('Country of the IP address the order came from').optional(),
    attributes: z
      .record(z.string(), z.unknown())
      // Depth first (and stop there): the size check serialises the value.
      .refine((v) => nestsAtMost(v, MAX_ATTRIBUTES_DEPTH), { message: `must nest at most ${MAX_ATTRIBUTES_DEPTH} levels of objects and arrays`, abort: true })
      .refine((v) => new TextEncoder().encode(JSON.stringify(v)).length <= MAX_ATTRIBUTES_BYTES, { message: `must take at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON` })
      .describe(`Free-form object of the customer's own fields (at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON; CSV: a JSON column "attributes" or columns "attributes.<name>")`)
      .optional(),
  })
  .describe('One shipment as sent to POST /api/v1/shipments');
export type ShipmentInput = z.infer<typeof shipmentInput>;

/** The most rows one intake request may carry. */
export const MAX_SHIPMENTS_PER_REQUEST = 100_000;
/** The most row errors one answer lists (the rest are counted in `errors_omitted`). */
export const MAX_LISTED_ROW_ERRORS = 1_000;

export const shipmentRowError = z.object({
  line: z.number().int().describe('NDJSON: the line; CSV: the line of the record (the header is line 1); JSON array: the 1-based position of the element'),
  field: z.string().describe('The offending field (dotted for nested ones, e.g. "dimensions_cm.width"), or "" when the row as a whole is bad'),
  message: z.string(),
});

export const shipmentIntakeAnswer = z
  .object({
    stored: z.number().int().describe('Rows stored by this request'),
    duplicates: z.number().int().describe('Valid rows not stored because the organisation already has their external_id (or the request repeats it)'),
    rejected: z.number().int().describe('Rows refused; each is listed in `errors` (up to a cap)'),
    errors: z.array(shipmentRowError).describe(`The refused rows, at most ${MAX_LISTED_ROW_ERRORS}`),
    errors_omitted: z.number().int().describe('Refused rows beyond the listed ones'),
  })
  .describe('A 2xx means every row counted in `stored` is durably stored');

export const shipmentView = shipmentInput
  .omit({ attributes: true })
  .extend({
    declared_value: storedQuantity('Declared value, in `currency`').optional(),
    weight_kg: storedQuantity('Gross weight in kilograms').optional(),
    dimensions_cm: z.object({ length: storedQuantity('Length (cm)'), width: storedQuantity('Width (cm)'), height: storedQuantity('Height (cm)') }).describe('Outer dimensions in centimetres').optional(),
    declared_value_usd: z.number().nullable().describe('declared_value converted with the platform rate of `currency` at intake; null without a value'),
    attributes: z.record(z.string(), z.unknown()),
    received_at: z.string().describe('When Vigil stored it'),
  })
  .describe('A stored shipment');

export const shipmentList = z.object({
  shipments: z.array(shipmentView),
  next_before: z.string().nullable().describe('Pass as `before` for the next (older) page; null on the last one'),
});

export const shipmentListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('At most this many (1-1000, default 100)'),
  before: z.string().max(100).optional().describe('The `next_before` of the previous page'),
});

export const shipmentParams = z.object({ external_id: z.string().min(1).max(200) });

export const currencyRate = z.object({
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code of three upper-case letters').describe('ISO 4217 code'),
  // Bounded as declared values are: their product, declared_value_usd, stays finite and summable.
  usd_per_unit: z.number().finite().positive().max(MAX_USD_PER_UNIT, atMost(MAX_USD_PER_UNIT)).describe('US dollars for one unit of the currency'),
});
export const currencyRatesInput = z.object({ rates: z.array(currencyRate).min(1).max(500).describe('Rates to add or replace; others stay') });
// Read back unbounded: rates stored before MAX_USD_PER_UNIT existed may exceed it.
export const currencyRatesView = z.object({ rates: z.array(currencyRate.extend({ usd_per_unit: z.number().positive().describe('US dollars for one unit of the currency'), updated_at: z.string() })) });
