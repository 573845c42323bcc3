/**
 * MIME bundles: how every model object shows itself.
 *
 * A bundle maps MIME types to data, as in Jupyter's display_data/execute_result. `text/plain` is
 * always present so that consoles, nbconvert's text exporter and tests have something to read.
 */

export { MimeBundle, JUPYTER_DISPLAY, Displayable, isDisplayable, escapeXml } from "../mime";

