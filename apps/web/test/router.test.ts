import { isValidElement, type ReactElement } from 'react';
import { describe, expect, it } from 'vitest';
import { pages } from '../src/App.js';
import { matchPath } from '../src/lib/router.js';

describe('matchPath', () => {
  it.each([
    { pattern: '/sql', path: '/sql', params: {} },
    { pattern: '/sql', path: '/sql/', params: {} },
    { pattern: '/sql', path: '/SQL', params: {} },
    { pattern: '/sql', path: '/sql/saved', params: null },
    { pattern: '/sql', path: '/sq', params: null },
    { pattern: '/sql/saved/:id', path: '/sql/saved/q_1', params: { id: 'q_1' } },
    { pattern: '/sql/saved/:id', path: '/sql/saved', params: null },
    { pattern: '/sql/saved/:id', path: '/sql/saved/a/b', params: null },
    { pattern: '/tables/:name', path: '/tables/silver.sales.orders', params: { name: 'silver.sales.orders' } },
    { pattern: '/tables/:name', path: '/tables/a%20b%2Fc', params: { name: 'a b/c' } },
    { pattern: '/tables/:name', path: '/tables/%E0%A4%A', params: null },
    { pattern: '/catalog/:layer?/:domain?', path: '/catalog', params: {} },
    { pattern: '/catalog/:layer?/:domain?', path: '/catalog/silver', params: { layer: 'silver' } },
    { pattern: '/catalog/:layer?/:domain?', path: '/catalog/silver/sales', params: { layer: 'silver', domain: 'sales' } },
    { pattern: '/catalog/:layer?/:domain?', path: '/catalog/silver/sales/x', params: null },
    { pattern: '/', path: '/', params: {} },
    { pattern: '/', path: '/catalog', params: null },
    { pattern: '*', path: '/anything/at/all', params: {} },
  ])('$pattern against $path', ({ pattern, path, params }) => {
    expect(matchPath(pattern, path)).toEqual(params);
  });
});

describe("the console's pages", () => {
  /** The path pattern of the first page that matches `path`, and the name of the component it renders (lazy: none). */
  const pageFor = (path: string): [string, string | undefined] => {
    const page = pages.find((p) => matchPath(p.path, path) !== null);
    if (!page || !isValidElement(page.element)) throw new Error(`no page for ${path}`);
    const type = (page.element as ReactElement).type;
    return [page.path, typeof type === 'function' ? type.name : undefined];
  };

  it.each([
    ['/', '/', 'Navigate'],
    ['/catalog', '/catalog/:layer?/:domain?', 'CatalogPage'],
    ['/catalog/gold/web', '/catalog/:layer?/:domain?', 'CatalogPage'],
    ['/tables/gold.web.daily_active_users', '/tables/:name', 'TablePage'],
    ['/sql', '/sql', 'SqlPage'],
    ['/sql/saved/abc', '/sql/saved/:id', 'SqlPage'],
    ['/quality', '/quality', 'PlaceholderPage'],
    ['/admin', '/admin', undefined],
    ['/admin/tables/silver.sales.orders', '/admin/tables/:name', undefined],
    ['/tables', '*', 'NotFound'],
    ['/no/such/page', '*', 'NotFound'],
  ])('%s is the page %s (%s)', (path, pattern, component) => {
    expect(pageFor(path)).toEqual([pattern, component]);
  });
});
