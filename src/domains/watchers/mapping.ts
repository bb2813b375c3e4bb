/**
 * A watched row's values (shipment field → JSON value of its column) as a shipment the intake
 * takes, and its organisation. Pure. The intake validates the result exactly as a posted row.
 *
 * Invariants:
 * - Only types are bridged, nothing is invented: a NULL column leaves the field absent; a number in
 *   a text field becomes its decimal text (an integer external_id); a numeric text in a number field
 *   becomes the number (as the CSV intake does); anything else is passed on for the intake to refuse.
 * - Dotted fields nest (`dimensions_cm.length`, `attributes.<name>`); `attributes` takes a JSON object.
 */

const NUMERIC = new Set(['declared_value', 'weight_kg', 'pieces', 'dimensions_cm.length', 'dimensions_cm.width', 'dimensions_cm.height']);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function shipmentOf(values: Record<string, unknown>): Record<string, unknown> {
  const shipment: Record<string, unknown> = {};
  for (const [field, raw] of Object.entries(values)) {
    if (raw === null || raw === undefined) continue;
    let v = raw;
    if (NUMERIC.has(field)) {
      if (typeof v === 'string' && NUMBER.test(v.trim())) v = Number(v);
    } else if (field !== 'attributes' && !field.startsWith('attributes.') && (typeof v === 'number' || typeof v === 'boolean')) {
      v = String(v);
    }
    const dot = field.indexOf('.');
    if (dot > 0) {
      const parent = field.slice(0, dot);
      const existing = shipment[parent];
      const nested = (typeof existing === 'object' && existing !== null ? existing : (shipment[parent] = {})) as Record<string, unknown>;
      nested[field.slice(dot + 1)] = v;
    } else if (field === 'attributes' && typeof v === 'object' && !Array.isArray(v) && typeof shipment.attributes === 'object') {
      // attributes.<name> columns read before the attributes column win over its keys.
      shipment.attributes = { ...(v as Record<string, unknown>), ...(shipment.attributes as Record<string, unknown>) };
    } else {
      shipment[field] = v;
    }
  }
  return shipment;
}

/** The organisation of a row: the fixed one, or its org column's value looked up in the map. */
export function orgOf(fixed: string | null, map: Record<string, string> | null, value: unknown): { orgId: string } | { error: string } {
  if (fixed !== null) return { orgId: fixed };
  if (value === null || value === undefined) return { error: 'is empty: the row names no organisation' };
  const key = typeof value === 'string' ? value : JSON.stringify(value);
  const orgId = map?.[key];
  return orgId ? { orgId } : { error: `value ${JSON.stringify(key)} is not in org_map` };
}
