// `pnpm depcheck` (CI runs it right after lint): no import circles, packages never import the service
// hosts, and inside @calgate/domain the layers point one way:
//   sync, bookings, holds, outbound, lookup, admin, maintenance
//     -> appointments -> availability, services (catalog) -> accounts
const DOMAIN = '^packages/domain/src/';
const TOP = `${DOMAIN}(sync|bookings|holds|outbound|lookup|admin|maintenance)/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle: split the shared part into a module both sides can import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'packages-not-to-services',
      severity: 'error',
      comment: 'Packages hold the logic; services/ only host it. A package never imports a service.',
      from: { path: '^packages/' },
      to: { path: '^services/' },
    },
    {
      name: 'appointments-below-the-flows',
      severity: 'error',
      comment: 'appointments/ is the core the flows build on; it may not import them.',
      from: { path: `${DOMAIN}appointments/` },
      to: { path: TOP },
    },
    {
      name: 'availability-and-catalog-below-appointments',
      severity: 'error',
      comment: 'Availability and the service catalog are read models under the appointment core.',
      from: { path: `${DOMAIN}(availability|services)/` },
      to: { path: [TOP, `${DOMAIN}appointments/`] },
    },
    {
      name: 'accounts-at-the-bottom',
      severity: 'error',
      comment: 'Companies and Cal.com connections are used by every layer and use none of them.',
      from: { path: `${DOMAIN}accounts/` },
      to: { path: [TOP, `${DOMAIN}(appointments|availability|services)/`] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '/test/'] },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
