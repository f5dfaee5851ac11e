#!/bin/bash
# shellcheck shell=bash
# The compact JSON list node-inventory writes: one entry per Node, built from kubectl's own
# go-template output and a little bash (no jq on the node), fast enough for 5,000 nodes.
# Inlined like lib/common.sh, after it and lib/kubectl.sh (go_template).

# a Node's line: name, "=" and its providerID, then the middle of its JSON entry (labels, caretaker.io
# annotations, cordon, readiness, boot id, kubelet version), tab-separated. %q quotes like JSON
# for the printable strings that names, labels and Caretaker's annotations are. written with
# <% %> (see go_template); `node_entry_template` gives the template for a list of Nodes
# shellcheck disable=SC2016 # a go template, not shell
NODE_ENTRY_DEFINE='<%define "node"%><%.metadata.name%><%"\t"%>=<%with .spec.providerID%><%.%><%end%><%"\t"%>"labels":<%"{"%><%$sep := ""%><%range $k, $v := .metadata.labels%><%$sep%><%printf "%q" $k%>:<%printf "%q" $v%><%$sep = ","%><%end%><%"}"%>,"annotations":<%"{"%><%$sep = ""%><%range $k, $v := .metadata.annotations%><%if eq (printf "%.13s" $k) "caretaker.io/"%><%$sep%><%printf "%q" $k%>:<%printf "%q" $v%><%$sep = ","%><%end%><%end%><%"}"%>,"unschedulable":<%if .spec.unschedulable%>true<%else%>false<%end%><%with .metadata.annotations%><%with index . "caretaker.io/cordoned-by"%>,"cordonedBy":<%printf "%q" .%><%end%><%end%><%$ready := "false"%><%$since := ""%><%range .status.conditions%><%if eq .type "Ready"%><%if eq .status "True"%><%$ready = "true"%><%$since = .lastTransitionTime%><%end%><%end%><%end%>,"ready":<%$ready%><%with $since%>,"readySince":<%printf "%q" .%><%end%>,"bootID":<%with .status.nodeInfo%><%printf "%q" .bootID%>,"kubeletVersion":<%printf "%q" .kubeletVersion%><%else%>"","kubeletVersion":""<%end%><%"\n"%><%end%>'

# node_entry_template: the go template of `kubectl get nodes`, one line per Node
node_entry_template() {
  go_template "${NODE_ENTRY_DEFINE}<%range .items%><%template \"node\" .%><%end%>"
}

# the pods holding each node: held[<node>] is the JSON of up to <cap> of its pods' names
declare -A held=()
declare -A held_count=()

# index_holding_pods <file> <cap>: reads "<node>\t<namespace>/<name>" lines
index_holding_pods() {
  local cap=$2 pod_node pod quoted
  while IFS=$'\t' read -r pod_node pod; do
    [[ -n $pod_node ]] || continue
    held_count[$pod_node]=$((${held_count[$pod_node]:-0} + 1))
    ((${held_count[$pod_node]} <= cap)) || continue
    # pod names are DNS labels: no subshell to quote them
    if [[ $pod =~ ^[a-z0-9./-]+$ ]]; then quoted="\"${pod}\""; else quoted=$(json_str "$pod"); fi
    held[$pod_node]+="${held[$pod_node]:+,}${quoted}"
  done <"$1"
}

# inventory_json <file of node lines>: prints the JSON array, one entry per line; sets
# inventory_count. providerID aws:///<zone>/<instance id> gives the instance and its zone
inventory_json() {
  local name provider middle instance zone name_json provider_json
  inventory_count=0
  printf '['
  while IFS=$'\t' read -r name provider middle; do
    [[ -n $name ]] || continue
    # "=" keeps an empty providerID a field of its own (a tab is whitespace to read)
    provider=${provider#=}
    instance='' zone=''
    if [[ $provider =~ ^aws:///([a-z0-9-]*)/(i-[0-9a-f]+)$ ]]; then
      zone=${BASH_REMATCH[1]}
      instance=${BASH_REMATCH[2]}
    fi
    # names (DNS subdomains) and the usual providerIDs need no escaping: no subshell per node,
    # which keeps 5,000 nodes to about a second
    if [[ $name =~ ^[a-z0-9.-]+$ ]]; then name_json="\"${name}\""; else name_json=$(json_str "$name"); fi
    if [[ $provider =~ ^[A-Za-z0-9:/._-]*$ ]]; then provider_json="\"${provider}\""; else provider_json=$(json_str "$provider"); fi
    ((inventory_count == 0)) || printf ','
    printf '\n{"name":%s,"providerID":%s,"instanceId":"%s","availabilityZone":"%s",%s,"heldByPods":[%s]}' \
      "$name_json" "$provider_json" "$instance" "$zone" "$middle" "${held[$name]:-}"
    inventory_count=$((inventory_count + 1))
  done <"$1"
  printf '\n]\n'
}
