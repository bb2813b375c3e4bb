import type { FieldFilters } from '../logs';
import { Field } from './Field';

/**
 * The inputs of the filters both log searches take besides time (lengths capped as the API caps
 * them). `statusClasses`: the search also takes a class of statuses (`5xx`), not only one status.
 */
export function EventFilterFields({
  idPrefix,
  values,
  onChange,
  statusError,
  statusClasses = false,
}: {
  idPrefix: string;
  values: FieldFilters;
  onChange: (name: keyof FieldFilters, value: string) => void;
  statusError?: string | undefined;
  statusClasses?: boolean;
}) {
  const id = (name: keyof FieldFilters) => `${idPrefix}-${name}`;
  return (
    <>
      <Field id={id('q')} label="Search">
        <input id={id('q')} type="search" value={values.q} placeholder="text in the message" maxLength={500} onChange={(e) => onChange('q', e.target.value)} />
      </Field>
      <Field id={id('service')} label="Service">
        <input id={id('service')} value={values.service} placeholder="any" maxLength={256} onChange={(e) => onChange('service', e.target.value)} />
      </Field>
      <Field id={id('status')} label="Status" error={statusError}>
        <input
          id={id('status')}
          inputMode={statusClasses ? undefined : 'numeric'}
          value={values.status}
          placeholder={statusClasses ? 'e.g. 503 or 5xx' : 'e.g. 503'}
          onChange={(e) => onChange('status', e.target.value)}
          aria-invalid={Boolean(statusError)}
        />
      </Field>
      <Field id={id('section')} label="Section">
        <input id={id('section')} value={values.section} placeholder="e.g. /api" maxLength={1000} onChange={(e) => onChange('section', e.target.value)} />
      </Field>
    </>
  );
}
