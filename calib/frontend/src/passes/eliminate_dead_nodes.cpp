// eliminate_dead_nodes: removes nodes whose outputs reach no graph output,
// then initializers no remaining node reads.
#include <set>

#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

int eliminate_dead_nodes(Graph& graph) {
    std::set<std::string> live;
    for (const ValueInfo& out : graph.outputs) live.insert(out.name);
    // Nodes are in topological order, so one backward sweep finds every
    // node that feeds a live value.
    std::vector<bool> remove(graph.nodes.size(), true);
    for (std::size_t i = graph.nodes.size(); i-- > 0;) {
        const Node& node = graph.nodes[i];
        bool needed = false;
        for (const std::string& out : node.outputs) needed = needed || live.count(out);
        if (!needed) continue;
        remove[i] = false;
        live.insert(node.inputs.begin(), node.inputs.end());
    }
    int removed = 0;
    for (bool r : remove) removed += r;
    pass_utils::erase_marked(graph, remove);
    for (auto it = graph.initializers.begin(); it != graph.initializers.end();) {
        if (live.count(it->first))
            ++it;
        else
            it = graph.initializers.erase(it);
    }
    return removed;
}

}  // namespace bitnpu::calib
