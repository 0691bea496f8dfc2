export { readXml, type ReadOptions } from './reader.js';
export { readPolicyDocument, SECTIONS, type SectionName, type PolicySection, type PoliciesDocument, type FragmentDocument, type PolicyDocument } from './document.js';
export { attribute, childElements, content, expressionsOf, type XmlAttribute, type XmlElement, type XmlExpression, type XmlNode, type XmlText } from './tree.js';
export { substituteNamedValues } from './named-values.js';
