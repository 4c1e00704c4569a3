// placeholder until the node is wired
