import { registry } from "@web/core/registry";

// Opens the dashboard, checks a backend card and clicks through to its dead messages.
registry.category("web_tour.tours").add("integration_core_dashboard_tour", {
    url: "/odoo/action-integration_core.action_integration_dashboard",
    steps: () => [
        {
            content: "The backend has its card",
            trigger: ".o_kanban_record:contains('Tour backend')",
        },
        {
            content: "Open its dead messages",
            trigger: ".o_kanban_record:contains('Tour backend') a[name='action_open_inbox_dead']",
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
