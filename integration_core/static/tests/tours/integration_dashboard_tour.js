import { registry } from "@web/core/registry";

// Opens the dashboard, checks a backend card and its traffic chart, and clicks
// through to its dead messages.
registry.category("web_tour.tours").add("integration_core_dashboard_tour", {
    url: "/odoo/action-integration_core.action_integration_dashboard",
    steps: () => [
        {
            content: "The backend has its card",
            trigger: ".o_kanban_record:contains('Tour backend')",
        },
        {
            content: "Its traffic chart shows the last 24 hours",
            trigger:
                ".o_kanban_record:contains('Tour backend') .o_integration_traffic_chart svg .o_traffic_hour:nth-child(25)",
        },
        {
            content: "Open the dead messages of its last 24 hours",
            trigger: ".o_kanban_record:contains('Tour backend') a[name='action_open_dead_24h']",
            run: "click",
        },
        {
            content: "The filtered inbox list shows the dead message",
            trigger: ".o_list_view .o_data_row:contains('tour/dead')",
        },
        {
            content: "Open the message form",
            trigger: ".o_data_row:contains('tour/dead') .o_data_cell[name='topic']",
            run: "click",
        },
        {
            content: "The form shows the payload",
            trigger: ".o_form_view .o_notebook",
        },
    ],
});
