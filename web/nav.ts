// The site's one navigation, shown by views/partials/header.ejs on every page. One entry per
// line: a page of another module appends its own line here.
export interface NavLink {
  href: string;
  label: string;
  /** element id, for tests */
  id: string;
}

export const NAV_LINKS: NavLink[] = [
  { href: '/', label: 'Home', id: 'nav-home' },
  { href: '/browse_db/', label: 'Search', id: 'nav-browse' },
  { href: '/display_all_contexts/', label: 'Contexts', id: 'nav-contexts' },
  { href: '/display_context_history/', label: 'History', id: 'nav-history' },
  { href: '/recent_activity/', label: 'Activity', id: 'nav-activity' },
  { href: '/delivery_status/', label: 'Deliveries', id: 'nav-deliveries' },
  { href: '/bestrefs/', label: 'Best refs', id: 'nav-bestrefs' },
  { href: '/plots/', label: 'Plots', id: 'nav-plots' },
  { href: '/batch_submit_references/', label: 'Submit', id: 'nav-submit' },
  { href: '/lock_status/', label: 'Locks', id: 'nav-locks' },
  { href: '/affected_datasets/', label: 'Affected', id: 'nav-affected' },
  { href: '/ops/', label: 'Operations', id: 'nav-ops' },
  { href: '/health', label: 'Health', id: 'nav-health' },
];
