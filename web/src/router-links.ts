/**
 * For a link to a page that contains the current one ("← Checks" on a check's page): the router marks
 * a link active (`aria-current="page"`) when the current path starts with its target; such a link is
 * not to the page being shown.
 */
export const EXACT = { exact: true } as const;
