package perm

// BlankMarker starts the /perm partition of a freshly built image. The box
// makes the filesystem on first boot only when it finds this marker: a
// partition that has neither it nor a readable filesystem was damaged, and
// is never reformatted without the operator asking.
const BlankMarker = "TUNNELER-PERM-UNFORMATTED v1\n"

// PartitionName is the GPT partition name of the data partition.
const PartitionName = "perm"

// ESPName is the GPT partition name of the EFI system partition.
const ESPName = "ESP"
