/* GOV.UK Frontend components (skip link, error summary, radios' conditional reveals…). */
import { initAll } from './govuk-frontend.min.js';
initAll();
