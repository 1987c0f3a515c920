import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

const WIDTH = 240;
const HEIGHT = 48;
const GAP = 1;

/**
 * Hourly traffic of a backend card: one bar per hour of the last 24 hours,
 * as tall as the inbound messages received that hour, split by what became
 * of them (done, failed or dead, the rest still waiting or ignored). Reads the
 * JSON of ``stat_traffic_24h``: {hours, received, done, failed}.
 */
export class TrafficChartField extends Component {
    static template = "integration_core.TrafficChartField";
    static props = { ...standardFieldProps };

    get traffic() {
        const value = this.props.record.data[this.props.name] || {};
        return {
            hours: value.hours || [],
            received: value.received || [],
            done: value.done || [],
            failed: value.failed || [],
        };
    }

    get width() {
        return WIDTH;
    }

    get height() {
        return HEIGHT;
    }

    get total() {
        return this.traffic.received.reduce((sum, count) => sum + count, 0);
    }

    get firstHour() {
        return this.traffic.hours[0] || "";
    }

    get bars() {
        const { hours, received, done, failed } = this.traffic;
        const peak = Math.max(1, ...received);
        const slot = WIDTH / Math.max(received.length, 1);
        const scale = (count) => (count / peak) * HEIGHT;
        return received.map((count, index) => {
            const doneHeight = scale(done[index] || 0);
            const failedHeight = scale(failed[index] || 0);
            const otherHeight = Math.max(scale(count) - doneHeight - failedHeight, 0);
            return {
                index,
                x: index * slot + GAP / 2,
                width: Math.max(slot - GAP, 1),
                doneY: HEIGHT - doneHeight,
                doneHeight,
                failedY: HEIGHT - doneHeight - failedHeight,
                failedHeight,
                otherY: HEIGHT - doneHeight - failedHeight - otherHeight,
                otherHeight,
                title: _t(
                    "From %(hour)s: %(received)s received, %(done)s done, %(failed)s failed or dead",
                    {
                        hour: hours[index] || "",
                        received: count,
                        done: done[index] || 0,
                        failed: failed[index] || 0,
                    }
                ),
            };
        });
    }
}

export const trafficChartField = {
    component: TrafficChartField,
    supportedTypes: ["json"],
};

registry.category("fields").add("integration_traffic_chart", trafficChartField);
